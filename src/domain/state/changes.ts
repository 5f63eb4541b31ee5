import { getDb } from "../../db/client";
import {
  type FlowRow,
  findFlow,
  findStep,
  type StepWithPerson,
  swapFlowState,
  swapStepState,
} from "../../db/queries/state";
import { notFound } from "../../errors";
import { personRoom } from "../../rooms/person-room";
import { emit } from "../../webhooks/emit";
import type { Entity, StateChange, StateChangedEvent } from "./states";

/** A compare-and-set loses only to a concurrent change; after this many losses something is wrong. */
const MAX_ATTEMPTS = 5;

/**
 * Sets a flow's state. D1 is written first; then, only if the state really changed, the
 * person's room tells its subscribers and the `state.changed` domain event is emitted.
 */
export async function changeFlowState(env: Env, id: string, state: string): Promise<FlowRow> {
  const db = getDb(env.DB);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const flow = await findFlow(db, id);
    if (!flow) throw notFound("Flow");
    if (flow.state === state) return flow;
    const updated = await swapFlowState(db, id, flow.state, state);
    if (updated) {
      await announce(env, flow.personKey, "flow", updated, flow.state);
      return updated;
    }
  }
  throw new Error(`Flow ${id} kept changing while being set to '${state}'`);
}

/** Sets a step's state; same order and rules as `changeFlowState`. */
export async function changeStepState(
  env: Env,
  id: string,
  state: string,
): Promise<StepWithPerson> {
  const db = getDb(env.DB);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const step = await findStep(db, id);
    if (!step) throw notFound("Step");
    if (step.state === state) return step;
    const updated = await swapStepState(db, id, step.state, state);
    if (updated) {
      await announce(env, step.personKey, "step", updated, step.state);
      return { ...updated, personKey: step.personKey };
    }
  }
  throw new Error(`Step ${id} kept changing while being set to '${state}'`);
}

async function announce(
  env: Env,
  personKey: string,
  entity: Entity,
  record: { id: string; identifier: string; state: string },
  previousState: string,
): Promise<void> {
  const change: StateChange = {
    entity,
    id: record.id,
    identifier: record.identifier,
    state: record.state,
    previous_state: previousState,
  };
  try {
    await personRoom(env, personKey).notifyStateChange(personKey, change);
  } catch (err) {
    // The change is stored; a room that cannot be reached only costs live events (subscribers
    // re-read `current` when they subscribe again after reconnecting). Webhooks still go out.
    console.error(`State change ${entity} ${record.id}: notifying room ${personKey} failed`, err);
  }
  const event: StateChangedEvent = { person_key: personKey, ...change };
  await emit(env, "state.changed", event);
}
