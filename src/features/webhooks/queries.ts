import { and, asc, desc, eq, inArray, lt, lte, min, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../../platform/db";
import * as time from "../../platform/time";
import { type HookEffect, hookPatch, tripped } from "./breaker";
import { firstOfItsKey, headOfKeyStatement } from "./ordering";
import {
  deferStatement,
  hasSlot,
  type PaceSignal,
  paceStatement,
  type ReserveResult,
  reserveStatement,
  slotAt,
} from "./pacing";
import {
  webhookAttempts,
  webhookDeliveries,
  webhookEvents,
  webhookEventTypes,
  webhooks,
} from "./schema";

export type WebhookRow = typeof webhooks.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type EventRow = typeof webhookEvents.$inferSelect;
export type AttemptRow = typeof webhookAttempts.$inferSelect;

/** Which hooks a caller may touch: one owner's, or every hook (admin). */
export type OwnerScope = { owner: string } | "all";

const ownedBy = (scope: OwnerScope, id: string) =>
  scope === "all" ? eq(webhooks.id, id) : and(eq(webhooks.id, id), eq(webhooks.owner, scope.owner));

/** drizzle wraps D1's error; the constraint is named in the cause. */
function isUniqueViolation(err: unknown): boolean {
  for (let e = err as Error | undefined; e; e = e.cause as Error | undefined) {
    if (String(e.message).includes("UNIQUE constraint failed")) return true;
  }
  return false;
}

/**
 * drizzle's error message lists the query's parameters, which for a hook include its secret and
 * password: rethrow D1's own message only, so no log ever shows them.
 */
function withoutParams(err: unknown): Error {
  let root = err as Error;
  while (root?.cause instanceof Error) root = root.cause;
  return new Error(`Writing a webhook failed: ${root?.message ?? "unknown error"}`);
}

// Event types registered by apps

export async function findAppEventType(db: Db, name: string) {
  return (
    (await db.select().from(webhookEventTypes).where(eq(webhookEventTypes.name, name)).get()) ??
    null
  );
}

export async function listAppEventTypes(db: Db) {
  return db.select().from(webhookEventTypes).orderBy(asc(webhookEventTypes.name));
}

/** False when the name is taken. `schema` is the JSON text of the type's data schema, if any. */
export async function insertAppEventType(
  db: Db,
  name: string,
  description: string,
  schema: string | null = null,
): Promise<boolean> {
  const rows = await db
    .insert(webhookEventTypes)
    .values({ name, description, schema, createdAt: time.now() })
    .onConflictDoNothing()
    .returning();
  return rows.length === 1;
}

// Subscriptions

/** Null when the owner already has a hook for that event type and URL. */
export async function insertWebhook(
  db: Db,
  input: Omit<typeof webhooks.$inferInsert, "createdAt" | "updatedAt">,
): Promise<WebhookRow | null> {
  const at = time.now();
  try {
    const rows = await db
      .insert(webhooks)
      .values({ ...input, createdAt: at, updatedAt: at })
      .onConflictDoNothing()
      .returning();
    return rows[0] ?? null;
  } catch (err) {
    throw withoutParams(err);
  }
}

export async function listWebhooks(db: Db, scope: OwnerScope, limit: number, offset: number) {
  return db
    .select()
    .from(webhooks)
    .where(scope === "all" ? undefined : eq(webhooks.owner, scope.owner))
    .orderBy(asc(webhooks.createdAt), asc(webhooks.id))
    .limit(limit)
    .offset(offset);
}

export async function findWebhook(db: Db, scope: OwnerScope, id: string) {
  return (await db.select().from(webhooks).where(ownedBy(scope, id)).get()) ?? null;
}

/** The updated hook, null when not found, `conflict` when it would duplicate another hook. */
export async function updateWebhook(
  db: Db,
  scope: OwnerScope,
  id: string,
  patch: Partial<Omit<typeof webhooks.$inferInsert, "id" | "owner" | "createdAt">>,
): Promise<WebhookRow | null | "conflict"> {
  try {
    const rows = await db
      .update(webhooks)
      .set({ ...patch, updatedAt: time.now() })
      .where(ownedBy(scope, id))
      .returning();
    return rows[0] ?? null;
  } catch (err) {
    if (isUniqueViolation(err)) return "conflict";
    throw withoutParams(err);
  }
}

/** Deletes the hook with its deliveries and log; false when not found. */
export async function deleteWebhook(db: Db, scope: OwnerScope, id: string): Promise<boolean> {
  const hook = await findWebhook(db, scope, id);
  if (!hook) return false;
  await db.batch([
    db.delete(webhookAttempts).where(eq(webhookAttempts.webhookId, id)),
    db.delete(webhookDeliveries).where(eq(webhookDeliveries.webhookId, id)),
    db.delete(webhooks).where(eq(webhooks.id, id)),
  ]);
  return true;
}

// Events and deliveries

export interface NewEvent {
  /** Hex without dashes; SQL when it is computed in the batch (from a row it inserts). */
  uuid: string | SQL;
  eventType: string;
  /** JSON of `data`; SQL when part of it is computed in the batch. */
  data: string | SQL;
  /** When set, only this owner's hooks get the event (built-in types go to the admin's only). */
  onlyOwner?: string;
  /** When set, the event is recorded only if this holds when its statements run. */
  when?: SQL;
  /** Ordered hooks get the events of one key one at a time, in emit order. */
  orderingKey?: string | null;
}

/**
 * An event and one pending delivery (with its first log row) per active hook of exactly its
 * type (and owner, if `onlyOwner`), all three conditioned on the uuid being new; the first
 * statement returns the new deliveries' ids. The event row comes last, so a later event of the
 * same uuid in the same batch records nothing.
 */
function eventStatements(db: Db, { onlyOwner, when, orderingKey, ...rest }: NewEvent, at: number) {
  const event = { ...rest, orderingKey: orderingKey ?? null };
  const unseen = sql`NOT EXISTS (SELECT 1 FROM ${webhookEvents} WHERE ${webhookEvents.uuid} = ${event.uuid})`;
  const isNew = when ? and(unseen, when) : unseen;
  return [
    db
      .insert(webhookDeliveries)
      .select(
        db
          .select({
            id: sql`NULL`.as("id"),
            eventUuid: sql`${event.uuid}`.as("event_uuid"),
            webhookId: webhooks.id,
            status: sql`'pending'`.as("status"),
            attempts: sql`0`.as("attempts"),
            roundStart: sql`0`.as("round_start"),
            nextAttemptAt: sql`${at}`.as("next_attempt_at"),
            // Only an ordered hook's delivery keeps the key: unordered ones wait for nothing.
            orderingKey:
              sql`CASE WHEN ${webhooks.ordered} THEN ${event.orderingKey ?? null} END`.as(
                "ordering_key",
              ),
            createdAt: sql`${at}`.as("created_at"),
            updatedAt: sql`${at}`.as("updated_at"),
          })
          .from(webhooks)
          .where(
            and(
              eq(webhooks.eventType, event.eventType),
              onlyOwner === undefined ? undefined : eq(webhooks.owner, onlyOwner),
              eq(webhooks.isActive, true),
              isNew,
            ),
          ),
      )
      .returning({ id: webhookDeliveries.id }),
    db.insert(webhookAttempts).select(
      db
        .select({
          id: sql`NULL`.as("id"),
          deliveryId: webhookDeliveries.id,
          webhookId: webhookDeliveries.webhookId,
          eventUuid: webhookDeliveries.eventUuid,
          eventType: sql`${event.eventType}`.as("event_type"),
          attempt: sql`1`.as("attempt"),
          status: sql`'pending'`.as("status"),
          responseStatus: sql`NULL`.as("response_status"),
          responseBody: sql`NULL`.as("response_body"),
          durationMs: sql`NULL`.as("duration_ms"),
          error: sql`NULL`.as("error"),
          createdAt: sql`${at}`.as("created_at"),
        })
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.eventUuid, event.uuid), isNew)),
    ),
    when
      ? db
          .insert(webhookEvents)
          .select(
            sql`SELECT ${event.uuid}, ${event.eventType}, ${event.data}, ${event.orderingKey}, ${at} WHERE ${when}`,
          )
          .onConflictDoNothing()
      : db
          .insert(webhookEvents)
          .values({ ...event, createdAt: at })
          .onConflictDoNothing(),
  ] as const;
}

/**
 * The statements recording events with their deliveries, for a batch of the caller's (three per
 * event, in order). A uuid seen before, or earlier in `events`, records nothing.
 */
export function recordEventStatements(db: Db, events: NewEvent[]): BatchItem<"sqlite">[] {
  const at = time.now();
  return events.flatMap((event) => eventStatements(db, event, at));
}

/**
 * The `i`-th item of a `json_each` row: batch statements carry their rows as one JSON array of
 * arrays (D1 binds at most 100 parameters; a Queue batch names up to 100 rows).
 */
const jsonField = (i: number) => sql.raw(`json_extract(value, '$[${i}]')`);

/** An event whose every part is known before the write (an emit, a room's drained outbox). */
export type PlainEvent = Omit<NewEvent, "uuid" | "data" | "when"> & { uuid: string; data: string };

/**
 * Records events with their deliveries in one transaction (one D1 round trip), in order: three
 * statements for the whole group, not three per event, because each statement costs D1 about as
 * much as the rows it writes (bench/README.md, "Seventh round"). The events travel as one JSON
 * parameter read back with `json_each`; its `key` (the position) orders the new rows, so ids
 * follow the events. A uuid seen before, or earlier in `events`, records nothing. Returns the
 * new deliveries' ids.
 */
export async function recordEvents(db: Db, events: PlainEvent[]): Promise<number[]> {
  const seen = new Set<string>();
  const unique = events.filter((e) => !seen.has(e.uuid) && seen.add(e.uuid));
  if (!unique.length) return [];
  const at = time.now();
  // Statements 1 and 2 never read `data`: only the third carries it.
  const keys = JSON.stringify(
    unique.map((e) => [e.uuid, e.eventType, e.orderingKey ?? null, e.onlyOwner ?? null]),
  );
  const group = sql`(SELECT key AS pos, ${jsonField(0)} AS uuid, ${jsonField(1)} AS event_type,
    ${jsonField(2)} AS ordering_key, ${jsonField(3)} AS only_owner FROM json_each(${keys}))`;
  const unseen = sql`NOT EXISTS (SELECT 1 FROM ${webhookEvents} WHERE ${webhookEvents.uuid} = e.uuid)`;
  // `insert(...).select(sql)` fills every column in the table's order (ids NULL: assigned).
  const [deliveries] = await db.batch([
    db
      .insert(webhookDeliveries)
      .select(
        sql`SELECT NULL, e.uuid, h.id, 'pending', 0, 0, ${at},
          CASE WHEN h.ordered THEN e.ordering_key END, ${at}, ${at}
        FROM ${group} AS e JOIN ${webhooks} AS h ON h.event_type = e.event_type AND h.is_active
          AND (e.only_owner IS NULL OR h.owner = e.only_owner)
        WHERE ${unseen} ORDER BY e.pos, h.id`,
      )
      .returning({ id: webhookDeliveries.id }),
    db.insert(webhookAttempts).select(
      sql`SELECT NULL, d.id, d.webhook_id, d.event_uuid, e.event_type, 1, 'pending',
          NULL, NULL, NULL, NULL, ${at}
        FROM ${group} AS e JOIN ${webhookDeliveries} AS d ON d.event_uuid = e.uuid
        WHERE ${unseen} ORDER BY d.id`,
    ),
    db
      .insert(webhookEvents)
      .select(
        sql`SELECT ${jsonField(0)}, ${jsonField(1)}, ${jsonField(2)}, ${jsonField(3)}, ${at}
        FROM json_each(${JSON.stringify(unique.map((e) => [e.uuid, e.eventType, e.data, e.orderingKey ?? null]))})
        WHERE true`,
      )
      .onConflictDoNothing(),
  ]);
  return deliveries.map((row) => row.id);
}

/** The deliveries of these events that were never attempted: what a dispatch enqueues. */
export async function unattemptedDeliveryIds(db: Db, eventUuids: string[]): Promise<number[]> {
  if (!eventUuids.length) return [];
  const rows = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      and(
        // One JSON parameter: a Queue batch names up to 100 events, D1 binds at most 100.
        sql`${webhookDeliveries.eventUuid} IN (SELECT value FROM json_each(${JSON.stringify(eventUuids)}))`,
        eq(webhookDeliveries.status, "pending"),
        eq(webhookDeliveries.attempts, 0),
      ),
    );
  return rows.map((row) => row.id);
}

export interface DeliveryContext {
  delivery: DeliveryRow;
  hook: WebhookRow | null;
  event: EventRow | null;
}

export async function loadDelivery(db: Db, deliveryId: number): Promise<DeliveryContext | null> {
  const row = await db
    .select({ delivery: webhookDeliveries, hook: webhooks, event: webhookEvents })
    .from(webhookDeliveries)
    .leftJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .leftJoin(webhookEvents, eq(webhookEvents.uuid, webhookDeliveries.eventUuid))
    .where(eq(webhookDeliveries.id, deliveryId))
    .get();
  return row ?? null;
}

/** The deliveries of a Queue batch with their hooks and events, in one query, by id. */
export async function loadDeliveries(
  db: Db,
  deliveryIds: number[],
): Promise<Map<number, DeliveryContext>> {
  if (!deliveryIds.length) return new Map();
  const rows = await db
    .select({ delivery: webhookDeliveries, hook: webhooks, event: webhookEvents })
    .from(webhookDeliveries)
    .leftJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .leftJoin(webhookEvents, eq(webhookEvents.uuid, webhookDeliveries.eventUuid))
    .where(inArray(webhookDeliveries.id, [...new Set(deliveryIds)]));
  return new Map(rows.map((row) => [row.delivery.id, row]));
}

/** A claim of `claimAttempts`: see `claimAttempt`. */
export interface Claim {
  delivery: DeliveryRow;
  /** For a paced hook: this delivery is the `index`-th of that hook in the batch. */
  paced?: { index: number };
}

/** What every claim of one transaction shares: due by when, and the lease it takes. */
export interface Lease {
  dueBy: number;
  leaseUntil: number;
}

/** The conditions of a claim, beside naming its delivery and the attempt count it saw. */
function claimable({ dueBy }: Lease) {
  return and(
    inArray(webhookDeliveries.status, ["pending", "retrying"]),
    lte(webhookDeliveries.nextAttemptAt, dueBy),
    firstOfItsKey(),
  );
}

function claimStatement(db: Db, { delivery, paced }: Claim, lease: Lease) {
  return db
    .update(webhookDeliveries)
    .set({
      attempts: delivery.attempts + 1,
      nextAttemptAt: lease.leaseUntil,
      updatedAt: time.now(),
    })
    .where(
      and(
        eq(webhookDeliveries.id, delivery.id),
        eq(webhookDeliveries.attempts, delivery.attempts),
        claimable(lease),
        paced ? hasSlot(delivery.webhookId, paced.index) : undefined,
      ),
    )
    .returning({ id: webhookDeliveries.id });
}

/**
 * Unpaced claims as one statement, whatever their number: each statement costs D1 about as
 * much as the rows it writes (bench/README.md, "Seventh round"). Each delivery is named with the
 * attempt count it was read with, as `claimStatement` does one by one.
 */
function claimAllStatement(db: Db, deliveries: DeliveryRow[], lease: Lease) {
  const named = JSON.stringify(deliveries.map((d) => [d.id, d.attempts]));
  return db
    .update(webhookDeliveries)
    .set({
      attempts: sql`${webhookDeliveries.attempts} + 1`,
      nextAttemptAt: lease.leaseUntil,
      updatedAt: time.now(),
    })
    .where(
      and(
        sql`(${webhookDeliveries.id}, ${webhookDeliveries.attempts}) IN (SELECT ${jsonField(0)}, ${jsonField(1)} FROM json_each(${named}))`,
        claimable(lease),
      ),
    )
    .returning({ id: webhookDeliveries.id });
}

/** What one claim transaction gave: see `claimAttempts`. */
export interface Claimed {
  /** Whether each claim was won, in the order given. */
  won: boolean[];
  /** Per claim: its slot, epoch ms, and the pace it was spaced at (paced and won), else null. */
  slots: ({ at: number; pace: number } | null)[];
  /** Per claim: when a paced delivery without a slot is due again, else null. */
  deferredTo: (number | null)[];
}

/**
 * `claimAttempt` for several deliveries in one transaction, in order: a delivery named twice
 * is claimed once, and one of an ordered hook only while no open delivery of its key is ahead of
 * it. A paced hook's deliveries first reserve slots (`pacing.ts`) and are claimed one by one (a
 * slot is the `index`-th of its hook's); those without one are deferred instead of claimed.
 * Unpaced ones are claimed together in one statement.
 */
export async function claimAttempts(
  db: Db,
  claims: Claim[],
  lease: Lease,
  now: number,
): Promise<Claimed> {
  const wanted = new Map<string, number>();
  for (const c of claims) {
    if (c.paced) wanted.set(c.delivery.webhookId, (wanted.get(c.delivery.webhookId) ?? 0) + 1);
  }
  const hooks = [...wanted.keys()];
  const paced = claims.filter((c) => c.paced);
  const unpaced = claims.filter((c) => !c.paced).map((c) => c.delivery);
  const statements = [
    ...hooks.map((hookId) =>
      reserveStatement(db, { hookId, wanted: wanted.get(hookId) ?? 0, now }),
    ),
    ...paced.map((c) => claimStatement(db, c, lease)),
    ...paced.map((c) =>
      deferStatement(db, {
        delivery: c.delivery,
        hookId: c.delivery.webhookId,
        index: c.paced?.index ?? 0,
        dueBy: lease.dueBy,
      }),
    ),
    ...(unpaced.length ? [claimAllStatement(db, unpaced, lease)] : []),
  ];
  const [first, ...rest] = statements;
  if (!first) return { won: [], slots: [], deferredTo: [] };
  const results = (await db.batch([first, ...rest])) as unknown[][];
  const reserved = new Map(hooks.map((id, i) => [id, (results[i] as ReserveResult)[0]]));
  const pacedWon = results.slice(hooks.length, hooks.length + paced.length);
  const deferrals = results.slice(hooks.length + paced.length, hooks.length + 2 * paced.length) as {
    nextAttemptAt: number;
  }[][];
  const unpacedWon = new Set(
    ((results[hooks.length + 2 * paced.length] ?? []) as { id: number }[]).map((row) => row.id),
  );
  let p = 0;
  const won: boolean[] = [];
  const slots: Claimed["slots"] = [];
  const deferredTo: (number | null)[] = [];
  for (const c of claims) {
    if (!c.paced) {
      // A delivery named twice is won by its first claim only.
      won.push(unpacedWon.delete(c.delivery.id));
      slots.push(null);
      deferredTo.push(null);
      continue;
    }
    const i = p++;
    const claimWon = (pacedWon[i] ?? []).length === 1;
    const reservation = reserved.get(c.delivery.webhookId);
    won.push(claimWon);
    slots.push(
      claimWon && reservation?.pace
        ? { at: slotAt(reservation, c.paced.index), pace: reservation.pace }
        : null,
    );
    deferredTo.push(deferrals[i]?.[0]?.nextAttemptAt ?? null);
  }
  return { won, slots, deferredTo };
}

/**
 * Takes the next attempt of a due delivery: bumps our attempt counter and holds a lease until
 * `leaseUntil` (so neither a duplicate message nor the scanner starts it twice). False when
 * another consumer took it, or it is not due or no longer open.
 */
export async function claimAttempt(
  db: Db,
  delivery: DeliveryRow,
  dueBy: number,
  leaseUntil: number,
): Promise<boolean> {
  const rows = await claimStatement(db, { delivery }, { dueBy, leaseUntil });
  return rows.length === 1;
}

export type { HookEffect } from "./breaker";

export interface AttemptOutcome {
  delivery: DeliveryRow;
  attempt: number;
  eventType: string;
  status: "succeeded" | "failed";
  responseStatus: number | null;
  responseBody: string | null;
  durationMs: number | null;
  error: string | null;
  /** Epoch ms of the next attempt, or null when this was the last one. */
  retryAt: number | null;
  hookEffect: HookEffect;
}

/**
 * Writes attempts' outcomes, in one transaction: for each, the attempt, the delivery's new state,
 * the next log row and the hook's health; then each paced hook's new pace (`pacing.ts`). Returns
 * the deliveries that now head the ordering keys these outcomes closed: the caller sends them.
 */
export async function completeAttempts(
  db: Db,
  outcomes: AttemptOutcome[],
  pacedHooks: ReadonlySet<string> = new Set(),
): Promise<number[]> {
  const at = time.now();
  const clean = new Set(cleanSuccesses(outcomes));
  const writes = [
    ...(clean.size ? successStatements(db, [...clean], at) : []),
    ...outcomes.filter((o) => !clean.has(o)).flatMap((o) => outcomeStatements(db, o, at)),
  ];
  const paces = paceSignals(outcomes, pacedHooks).flatMap((s) => paceStatement(db, s) ?? []);
  const closedKeys = outcomes.filter(
    (o) => o.delivery.orderingKey !== null && (o.status === "succeeded" || !o.retryAt),
  );
  const heads = closedKeys.map((o) =>
    headOfKeyStatement(db, o.delivery.webhookId, o.delivery.orderingKey as string),
  );
  const [first, ...rest] = [...writes, ...paces, ...heads];
  if (!first) return [];
  const results = (await db.batch([first, ...rest])) as unknown[];
  const found = results.slice(writes.length + paces.length) as { id: number }[][];
  return [...new Set(found.flatMap((rows) => rows.map((row) => row.id)))];
}

/**
 * The successes of hooks that only succeeded in this batch. Their statements do not depend on
 * the order of the batch's outcomes, so they are written together (`successStatements`); a hook
 * with a failure among them keeps the outcome-by-outcome statements, whose order decides its health.
 */
function cleanSuccesses(outcomes: AttemptOutcome[]): AttemptOutcome[] {
  const mixed = new Set(
    outcomes.filter((o) => o.status !== "succeeded").map((o) => o.delivery.webhookId),
  );
  return outcomes.filter((o) => o.status === "succeeded" && !mixed.has(o.delivery.webhookId));
}

/**
 * `outcomeStatements` for many successes, as four statements whatever their number (each
 * statement costs D1 about as much as the rows it writes: bench/README.md, "Seventh round").
 * The outcomes travel as one JSON parameter read back with `json_each`.
 */
function successStatements(db: Db, outcomes: AttemptOutcome[], at: number) {
  const rows = JSON.stringify(
    outcomes.map((o) => [
      o.delivery.id,
      o.attempt,
      o.delivery.webhookId,
      o.delivery.eventUuid,
      o.eventType,
      o.responseStatus,
      o.responseBody,
      o.durationMs,
    ]),
  );
  const done = sql`(SELECT ${jsonField(0)} AS delivery_id, ${jsonField(1)} AS attempt FROM json_each(${rows}))`;
  return [
    // An earlier attempt still open was cut short (its consumer crashed after claiming it).
    db
      .update(webhookAttempts)
      .set({ status: "failed", error: "attempt interrupted" })
      .where(
        sql`${webhookAttempts.id} IN (SELECT a.id FROM ${done} AS o JOIN ${webhookAttempts} AS a
          ON a.delivery_id = o.delivery_id AND a.attempt < o.attempt
          WHERE a.status IN ('pending', 'retrying'))`,
      ),
    // Columns in the table's order: id, delivery, hook, event, type, attempt, status,
    // response status and body, duration, error, created.
    db
      .insert(webhookAttempts)
      .select(
        sql`SELECT NULL, ${jsonField(0)}, ${jsonField(2)}, ${jsonField(3)}, ${jsonField(4)}, ${jsonField(1)},
          'succeeded', ${jsonField(5)}, ${jsonField(6)}, ${jsonField(7)}, NULL, ${at}
        FROM json_each(${rows}) WHERE true`,
      )
      .onConflictDoUpdate({
        target: [webhookAttempts.deliveryId, webhookAttempts.attempt],
        set: {
          status: sql`excluded.status`,
          responseStatus: sql`excluded.response_status`,
          responseBody: sql`excluded.response_body`,
          durationMs: sql`excluded.duration_ms`,
          error: sql`excluded.error`,
        },
      }),
    db
      .update(webhookDeliveries)
      .set({ status: "succeeded", nextAttemptAt: at, updatedAt: at })
      .where(sql`${webhookDeliveries.id} IN (SELECT delivery_id FROM ${done})`),
    db
      .update(webhooks)
      .set(hookPatch({ kind: "succeeded" }, at))
      .where(sql`${webhooks.id} IN (SELECT DISTINCT ${jsonField(2)} FROM json_each(${rows}))`),
  ];
}

/** Per paced hook: whether a 429 came back, and how many attempts succeeded. */
function paceSignals(outcomes: AttemptOutcome[], pacedHooks: ReadonlySet<string>): PaceSignal[] {
  const signals = new Map<string, PaceSignal>();
  for (const o of outcomes) {
    const hookId = o.delivery.webhookId;
    if (!pacedHooks.has(hookId)) continue;
    const signal = signals.get(hookId) ?? { hookId, throttled: false, successes: 0 };
    if (o.responseStatus === 429) signal.throttled = true;
    if (o.status === "succeeded") signal.successes += 1;
    signals.set(hookId, signal);
  }
  return [...signals.values()];
}

function outcomeStatements(db: Db, o: AttemptOutcome, at: number) {
  const deliveryStatus = o.status === "succeeded" ? "succeeded" : o.retryAt ? "retrying" : "failed";
  const patch = hookPatch(o.hookEffect, at);
  const result = {
    status: o.status,
    responseStatus: o.responseStatus,
    responseBody: o.responseBody,
    durationMs: o.durationMs,
    error: o.error,
  };
  return [
    // An earlier attempt still open was cut short (its consumer crashed after claiming it).
    db
      .update(webhookAttempts)
      .set({ status: "failed", error: "attempt interrupted" })
      .where(
        and(
          eq(webhookAttempts.deliveryId, o.delivery.id),
          lt(webhookAttempts.attempt, o.attempt),
          inArray(webhookAttempts.status, ["pending", "retrying"]),
        ),
      ),
    db
      .insert(webhookAttempts)
      .values({
        deliveryId: o.delivery.id,
        webhookId: o.delivery.webhookId,
        eventUuid: o.delivery.eventUuid,
        eventType: o.eventType,
        attempt: o.attempt,
        createdAt: at,
        ...result,
      })
      .onConflictDoUpdate({
        target: [webhookAttempts.deliveryId, webhookAttempts.attempt],
        set: result,
      }),
    db
      .update(webhookDeliveries)
      .set({ status: deliveryStatus, nextAttemptAt: o.retryAt ?? at, updatedAt: at })
      .where(eq(webhookDeliveries.id, o.delivery.id)),
    ...(o.retryAt
      ? [
          db.insert(webhookAttempts).values({
            deliveryId: o.delivery.id,
            webhookId: o.delivery.webhookId,
            eventUuid: o.delivery.eventUuid,
            eventType: o.eventType,
            attempt: o.attempt + 1,
            status: "retrying" as const,
            createdAt: at,
          }),
        ]
      : []),
    db.update(webhooks).set(patch).where(eq(webhooks.id, o.delivery.webhookId)),
    ...tripStatements(db, o, at),
  ];
}

/** The `webhook.endpoint_disabled` event of an attempt that may disable its hook, recorded only if it did. */
function tripStatements(db: Db, o: AttemptOutcome, at: number) {
  const trip = o.hookEffect.kind === "failed" ? o.hookEffect.trip : null;
  if (!trip) return [];
  return eventStatements(db, { ...trip.event, when: tripped(o.delivery.webhookId, trip) }, at);
}

/** Closes an open delivery whose hook is gone or disabled, logging why. */
export async function abandonDelivery(
  db: Db,
  delivery: DeliveryRow,
  reason: string,
): Promise<void> {
  const at = time.now();
  await db.batch([
    db
      .update(webhookAttempts)
      .set({ status: "failed", error: reason })
      .where(
        and(
          eq(webhookAttempts.deliveryId, delivery.id),
          eq(webhookAttempts.attempt, delivery.attempts + 1),
        ),
      ),
    db
      .update(webhookDeliveries)
      .set({ status: "failed", updatedAt: at })
      .where(eq(webhookDeliveries.id, delivery.id)),
  ]);
}

/**
 * The delivery of an event to a hook, with the event: null when the event never went (nor was
 * attempted) to that hook, which is all a redelivery may send it.
 */
export async function findHookDelivery(
  db: Db,
  webhookId: string,
  eventUuid: string,
): Promise<{ delivery: DeliveryRow; event: EventRow } | null> {
  const row = await db
    .select({ delivery: webhookDeliveries, event: webhookEvents })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.uuid, webhookDeliveries.eventUuid))
    .where(
      and(eq(webhookDeliveries.webhookId, webhookId), eq(webhookDeliveries.eventUuid, eventUuid)),
    )
    .get();
  return row ?? null;
}

/**
 * Opens a new round for a finished delivery: due now, with a fresh retry budget. Returns the
 * delivery id, or null if it is open.
 */
export async function reopenDelivery(
  db: Db,
  hookId: string,
  event: EventRow,
  existing: DeliveryRow,
): Promise<number | null> {
  const at = time.now();
  const [reopened] = await db
    .update(webhookDeliveries)
    .set({ status: "pending", roundStart: existing.attempts, nextAttemptAt: at, updatedAt: at })
    .where(
      and(
        eq(webhookDeliveries.id, existing.id),
        eq(webhookDeliveries.attempts, existing.attempts),
        inArray(webhookDeliveries.status, ["succeeded", "failed"]),
      ),
    )
    .returning({ id: webhookDeliveries.id });
  if (!reopened) return null;
  await logScheduled(db, existing.id, hookId, event, existing.attempts + 1);
  return existing.id;
}

async function logScheduled(
  db: Db,
  deliveryId: number,
  webhookId: string,
  event: EventRow,
  attempt: number,
) {
  await db
    .insert(webhookAttempts)
    .values({
      deliveryId,
      webhookId,
      eventUuid: event.uuid,
      eventType: event.eventType,
      attempt,
      status: "pending",
      createdAt: time.now(),
    })
    .onConflictDoNothing();
}

/** A hook's log, newest first. */
export async function listAttempts(db: Db, webhookId: string, limit: number, offset: number) {
  return db
    .select()
    .from(webhookAttempts)
    .where(eq(webhookAttempts.webhookId, webhookId))
    .orderBy(desc(webhookAttempts.id))
    .limit(limit)
    .offset(offset);
}

/**
 * Open deliveries whose next attempt (or a running attempt's lease) ended before `before`: their
 * message was lost. They are made due at `at` in the same statement, so the next scan leaves them
 * alone for a while and a claim taken meanwhile is not overwritten.
 */
/** When the oldest delivery still pending or retrying was due, if before `before`; else null. */
export async function oldestOverdueAt(db: Db, before: number): Promise<number | null> {
  const [row] = await db
    .select({ at: min(webhookDeliveries.nextAttemptAt) })
    .from(webhookDeliveries)
    .where(
      and(
        inArray(webhookDeliveries.status, ["pending", "retrying"]),
        lte(webhookDeliveries.nextAttemptAt, before),
        // Held back by an open delivery of its key: waiting by design, not lagging.
        firstOfItsKey(),
      ),
    );
  return row?.at ?? null;
}

export async function takeOverdueDeliveries(
  db: Db,
  before: number,
  at: number,
  limit: number,
): Promise<number[]> {
  const overdue = and(
    inArray(webhookDeliveries.status, ["pending", "retrying"]),
    lte(webhookDeliveries.nextAttemptAt, before),
  );
  const rows = await db
    .update(webhookDeliveries)
    .set({ nextAttemptAt: at, updatedAt: at })
    .where(
      and(
        overdue,
        inArray(
          webhookDeliveries.id,
          db
            .select({ id: webhookDeliveries.id })
            .from(webhookDeliveries)
            // An ordered delivery held back by its key waits for the head to close, not the scan.
            .where(and(overdue, firstOfItsKey()))
            .orderBy(asc(webhookDeliveries.nextAttemptAt))
            .limit(limit),
        ),
      ),
    )
    .returning({ id: webhookDeliveries.id });
  return rows.map((r) => r.id);
}
