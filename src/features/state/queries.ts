import { and, asc, eq, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../../platform/db";
import * as time from "../../platform/time";
import { flowInstances, persons, stepInstances } from "./schema";

export type PersonRow = typeof persons.$inferSelect;
export type FlowRow = typeof flowInstances.$inferSelect;
export type StepRow = typeof stepInstances.$inferSelect;
/** A step with the person its flow belongs to (rooms are per person). */
export type StepWithPerson = StepRow & { personKey: string };

const now = () => time.nowIso();

/** Inserts a person; null when the key is taken. */
export async function insertPerson(
  db: Db,
  input: { key: string; name: string },
): Promise<PersonRow | null> {
  const at = now();
  const rows = await db
    .insert(persons)
    .values({ ...input, createdAt: at, updatedAt: at })
    .onConflictDoNothing()
    .returning();
  return rows[0] ?? null;
}

export async function findPerson(db: Db, key: string): Promise<PersonRow | null> {
  return (await db.select().from(persons).where(eq(persons.key, key)).get()) ?? null;
}

export async function insertFlow(
  db: Db,
  input: { personKey: string; identifier: string; state: string },
): Promise<FlowRow> {
  const at = now();
  const rows = await db
    .insert(flowInstances)
    .values({ id: crypto.randomUUID(), ...input, createdAt: at, updatedAt: at })
    .returning();
  return rows[0]!;
}

export async function findFlow(db: Db, id: string): Promise<FlowRow | null> {
  return (await db.select().from(flowInstances).where(eq(flowInstances.id, id)).get()) ?? null;
}

export async function insertStep(
  db: Db,
  input: { flowId: string; identifier: string; state: string },
): Promise<StepRow> {
  const at = now();
  const rows = await db
    .insert(stepInstances)
    .values({ id: crypto.randomUUID(), ...input, createdAt: at, updatedAt: at })
    .returning();
  return rows[0]!;
}

const stepWithPerson = {
  id: stepInstances.id,
  flowId: stepInstances.flowId,
  identifier: stepInstances.identifier,
  state: stepInstances.state,
  createdAt: stepInstances.createdAt,
  updatedAt: stepInstances.updatedAt,
  personKey: flowInstances.personKey,
};

export async function findStep(db: Db, id: string): Promise<StepWithPerson | null> {
  const row = await db
    .select(stepWithPerson)
    .from(stepInstances)
    .innerJoin(flowInstances, eq(stepInstances.flowId, flowInstances.id))
    .where(eq(stepInstances.id, id))
    .get();
  return row ?? null;
}

/** A person's flows, oldest first. */
export function listFlows(db: Db, personKey: string): Promise<FlowRow[]> {
  return db
    .select()
    .from(flowInstances)
    .where(eq(flowInstances.personKey, personKey))
    .orderBy(asc(flowInstances.createdAt), asc(flowInstances.id))
    .all();
}

/** The steps of every flow of a person, by flow then step age. */
export function listPersonSteps(db: Db, personKey: string): Promise<StepWithPerson[]> {
  return db
    .select(stepWithPerson)
    .from(stepInstances)
    .innerJoin(flowInstances, eq(stepInstances.flowId, flowInstances.id))
    .where(eq(flowInstances.personKey, personKey))
    .orderBy(
      asc(flowInstances.createdAt),
      asc(flowInstances.id),
      asc(stepInstances.createdAt),
      asc(stepInstances.id),
    )
    .all();
}

/** The steps of one flow, oldest first. */
export function listFlowSteps(db: Db, flowId: string): Promise<StepRow[]> {
  return db
    .select()
    .from(stepInstances)
    .where(eq(stepInstances.flowId, flowId))
    .orderBy(asc(stepInstances.createdAt), asc(stepInstances.id))
    .all();
}

/**
 * Statements stored only together with a state change, in its batch (the change's outbox rows).
 * `ifStored(value)` is SQL that is `value` when the change was stored and NULL otherwise: an
 * event whose uuid is NULL cannot be inserted, so a compare-and-set that lost fails its whole
 * batch instead of recording an event for a change that did not happen.
 */
export type WithChange = (ifStored: (value: string) => SQL) => BatchItem<"sqlite">[];

/**
 * Compare-and-set of a flow's state with `withChange` in one D1 transaction: changes it only
 * while it is still `from`, so two concurrent changes never report the same previous state.
 * Null when it is not `from` any more (or gone).
 */
export async function swapFlowState(
  db: Db,
  id: string,
  from: string,
  to: string,
  withChange: WithChange,
): Promise<FlowRow | null> {
  const at = now();
  const [rows] = await db.batch([
    db
      .update(flowInstances)
      .set({ state: to, updatedAt: at })
      .where(and(eq(flowInstances.id, id), eq(flowInstances.state, from)))
      .returning(),
    ...withChange(
      (value) =>
        sql`(SELECT ${value} FROM ${flowInstances} WHERE ${flowInstances.id} = ${id} AND ${flowInstances.state} = ${to} AND ${flowInstances.updatedAt} = ${at})`,
    ),
  ]);
  return rows[0] ?? null;
}

/** Compare-and-set of a step's state (see `swapFlowState`). */
export async function swapStepState(
  db: Db,
  id: string,
  from: string,
  to: string,
  withChange: WithChange,
): Promise<StepRow | null> {
  const at = now();
  const [rows] = await db.batch([
    db
      .update(stepInstances)
      .set({ state: to, updatedAt: at })
      .where(and(eq(stepInstances.id, id), eq(stepInstances.state, from)))
      .returning(),
    ...withChange(
      (value) =>
        sql`(SELECT ${value} FROM ${stepInstances} WHERE ${stepInstances.id} = ${id} AND ${stepInstances.state} = ${to} AND ${stepInstances.updatedAt} = ${at})`,
    ),
  ]);
  return rows[0] ?? null;
}
