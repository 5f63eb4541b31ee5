import { and, asc, desc, eq, inArray, lt, lte, min, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../../platform/db";
import * as time from "../../platform/time";
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

/** False when the name is taken. */
export async function insertAppEventType(
  db: Db,
  name: string,
  description: string,
): Promise<boolean> {
  const rows = await db
    .insert(webhookEventTypes)
    .values({ name, description, createdAt: time.now() })
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
}

/**
 * An event and one pending delivery (with its first log row) per active hook of exactly its
 * type (and owner, if `onlyOwner`), all three conditioned on the uuid being new; the first
 * statement returns the new deliveries' ids. The event row comes last, so a later event of the
 * same uuid in the same batch records nothing.
 */
function eventStatements(db: Db, { onlyOwner, ...event }: NewEvent, at: number) {
  const isNew = sql`NOT EXISTS (SELECT 1 FROM ${webhookEvents} WHERE ${webhookEvents.uuid} = ${event.uuid})`;
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
    db
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
 * Records events with their deliveries in one transaction (one D1 round trip), in order. A uuid
 * seen before, or earlier in `events`, records nothing. Returns each event's new delivery ids.
 */
export async function recordEvents(db: Db, events: NewEvent[]): Promise<number[][]> {
  const [first, ...rest] = recordEventStatements(db, events);
  if (!first) return [];
  const results = await db.batch([first, ...rest]);
  return events.map((_, i) => (results[i * 3] as { id: number }[]).map((row) => row.id));
}

/** The deliveries of these events that were never attempted: what a dispatch enqueues. */
export async function unattemptedDeliveryIds(db: Db, eventUuids: string[]): Promise<number[]> {
  if (!eventUuids.length) return [];
  const rows = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      and(
        inArray(webhookDeliveries.eventUuid, eventUuids),
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
  dueBy: number;
  leaseUntil: number;
}

function claimStatement(db: Db, { delivery, dueBy, leaseUntil }: Claim) {
  return db
    .update(webhookDeliveries)
    .set({ attempts: delivery.attempts + 1, nextAttemptAt: leaseUntil, updatedAt: time.now() })
    .where(
      and(
        eq(webhookDeliveries.id, delivery.id),
        eq(webhookDeliveries.attempts, delivery.attempts),
        inArray(webhookDeliveries.status, ["pending", "retrying"]),
        lte(webhookDeliveries.nextAttemptAt, dueBy),
      ),
    )
    .returning({ id: webhookDeliveries.id });
}

/**
 * `claimAttempt` for several deliveries in one transaction, in order: a delivery named twice
 * is claimed once. Whether each claim was won, in the order given.
 */
export async function claimAttempts(db: Db, claims: Claim[]): Promise<boolean[]> {
  const [first, ...rest] = claims.map((c) => claimStatement(db, c));
  if (!first) return [];
  const results = await db.batch([first, ...rest]);
  return results.map((rows) => rows.length === 1);
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
  const rows = await claimStatement(db, { delivery, dueBy, leaseUntil });
  return rows.length === 1;
}

/** What an attempt does to its hook's health. */
export type HookEffect =
  | { kind: "none" }
  | { kind: "succeeded" }
  | { kind: "failed"; disableAfter: number; reason: string }
  | { kind: "gone"; reason: string };

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

function hookPatch(effect: HookEffect, at: number) {
  switch (effect.kind) {
    case "none":
      return null;
    case "succeeded":
      return { consecutiveFailures: 0, updatedAt: at };
    case "gone":
      return { isActive: false, disabledReason: effect.reason, updatedAt: at };
    case "failed": {
      // In SQL, so concurrent deliveries of one hook never lose a count.
      const reached = sql`${webhooks.consecutiveFailures} + 1 >= ${effect.disableAfter}`;
      return {
        consecutiveFailures: sql`${webhooks.consecutiveFailures} + 1`,
        isActive: sql`CASE WHEN ${reached} THEN 0 ELSE ${webhooks.isActive} END`,
        disabledReason: sql`CASE WHEN ${reached} THEN ${effect.reason} ELSE ${webhooks.disabledReason} END`,
        updatedAt: at,
      };
    }
  }
}

/**
 * Writes attempts' outcomes, in one transaction: for each, the attempt, the delivery's new state,
 * the next log row and the hook's health.
 */
export async function completeAttempts(db: Db, outcomes: AttemptOutcome[]): Promise<void> {
  const at = time.now();
  const [first, ...rest] = outcomes.flatMap((o) => outcomeStatements(db, o, at));
  if (first) await db.batch([first, ...rest]);
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
    ...(patch ? [db.update(webhooks).set(patch).where(eq(webhooks.id, o.delivery.webhookId))] : []),
  ];
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
            .where(overdue)
            .orderBy(asc(webhookDeliveries.nextAttemptAt))
            .limit(limit),
        ),
      ),
    )
    .returning({ id: webhookDeliveries.id });
  return rows.map((r) => r.id);
}
