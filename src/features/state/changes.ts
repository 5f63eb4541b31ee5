import { getDb } from "../../platform/db";
import { notFound } from "../../platform/errors";
import { outboxStatements, type PreparedEvent, prepareEvent } from "../webhooks";
import {
  type FlowRow,
  findFlow,
  findStep,
  type StepWithPerson,
  swapFlowState,
  swapStepState,
  type WithChange,
} from "./queries";
import type { Entity, StateChange, StateChangedEvent } from "./states";

/** A compare-and-set loses only to a concurrent change; after this many losses something is wrong. */
const MAX_ATTEMPTS = 5;

/** A state change as stored: the record, and when the state really changed, what changed. */
export interface Changed<R> {
  record: R;
  change: { data: StateChange; event: PreparedEvent } | null;
}

/**
 * Sets the state of a flow of `personKey` (another person's flow is a 404). The compare-and-set
 * and the `state.changed` event (the outbox) are one D1 transaction: a stored change always has
 * its event, so a retry that finds the state already set has nothing left to send. The same
 * state again stores and records nothing. The person's room calls this (it is the only writer of
 * its person's states) and then tells its sockets and dispatches the event.
 */
export function setFlowState(
  env: Env,
  personKey: string,
  id: string,
  state: string,
): Promise<Changed<FlowRow>> {
  const db = getDb(env.DB);
  return compareAndSet(env, personKey, "flow", state, {
    read: () => findFlow(db, id),
    swap: (from, withChange) => swapFlowState(db, id, from, state, withChange),
  });
}

/** Sets the state of a step of `personKey`; same rules as `setFlowState`. */
export function setStepState(
  env: Env,
  personKey: string,
  id: string,
  state: string,
): Promise<Changed<StepWithPerson>> {
  const db = getDb(env.DB);
  return compareAndSet(env, personKey, "step", state, {
    read: () => findStep(db, id),
    swap: async (from, withChange) => {
      const row = await swapStepState(db, id, from, state, withChange);
      return row && { ...row, personKey };
    },
  });
}

interface Instance {
  id: string;
  identifier: string;
  state: string;
  personKey: string;
}

async function compareAndSet<R extends Instance>(
  env: Env,
  personKey: string,
  entity: Entity,
  state: string,
  ops: { read(): Promise<R | null>; swap(from: string, withChange: WithChange): Promise<R | null> },
): Promise<Changed<R>> {
  let lastError: unknown = new Error(`${entity} kept changing while being set to '${state}'`);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const record = await ops.read();
    if (!record || record.personKey !== personKey)
      throw notFound(entity === "flow" ? "Flow" : "Step");
    if (record.state === state) return { record, change: null };
    const data: StateChange = {
      entity,
      id: record.id,
      identifier: record.identifier,
      state,
      previous_state: record.state,
    };
    const event = await prepareEvent(env, "state.changed", {
      person_key: personKey,
      ...data,
    } satisfies StateChangedEvent);
    const db = getDb(env.DB);
    try {
      const updated = await ops.swap(record.state, (ifStored) =>
        outboxStatements(db, [{ ...event, uuid: ifStored(event.uuid) }]),
      );
      if (updated) return { record: updated, change: { data, event } };
    } catch (err) {
      // A lost compare-and-set fails its batch (see `WithChange`); read again and retry. A D1
      // failure that may have committed is read again too: the state is then already set.
      lastError = err;
    }
  }
  throw lastError;
}
