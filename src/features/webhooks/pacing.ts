import { and, eq, inArray, isNotNull, lte, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Db } from "../../platform/db";
import * as time from "../../platform/time";
import { webhookDeliveries, webhooks } from "./schema";

/**
 * Per-hook pacing (contract §6 `rate_limit`): a hook's deliveries are spaced at its pace and never
 * dropped. The pace starts at `rate_limit`; a 429 halves it (down to `MIN_PACE`), each success
 * adds a tenth of `rate_limit` back (AIMD, as TCP does). Slots live in D1 on the hook row
 * (`next_slot_at`), so every consumer shares them: a batch reserves, in its claim transaction,
 * the slots of the next `HORIZON_MS` for its due deliveries of that hook, waits for each slot and
 * sends; a delivery without a slot is pushed to its estimated slot in the same transaction and
 * goes back to the Queue with that delay. Nothing here adds a D1 round trip: reservations ride in
 * the claim transaction, the pace change in the completion one.
 */

/** The bounds of a hook's `rate_limit` (deliveries per second). */
export const MAX_RATE_LIMIT = 1000;
export const MIN_RATE_LIMIT = 0.01;
/** A 429 never slows a hook below this pace, nor below its own `rate_limit` (deliveries per second). */
export const MIN_PACE = 0.1;
/** What a 429 multiplies the pace by. */
const DECREASE = 0.5;
/** Each success adds this share of `rate_limit` to the pace. */
const INCREASE_SHARE = 0.1;
/** A batch sends the slots that start within this window itself; later ones go back to the Queue. */
export const HORIZON_MS = 3_000;
/**
 * A deferred delivery comes back this much before its estimated slot: the Queue delays by whole
 * seconds and delivers a little late, and a message that arrives inside the horizon waits for its
 * slot in the consumer instead of missing it.
 */
const EARLY_MS = 1_500;
/**
 * An idle hook's first slot starts this far ahead of the reservation: the claim transaction's
 * round trip. A slot already past when the claim returns is sent late, and the next one, on
 * time, would arrive closer to it than the pace allows.
 */
export const LEAD_MS = 50;

const OPEN = ["pending", "retrying"] as const;

/** A slot reservation of one hook in a claim transaction. */
export interface Reservation {
  hookId: string;
  /** How many of the batch's due deliveries of that hook want a slot. */
  wanted: number;
  now: number;
}

/** The hook row the statements read: the reservation of this transaction. */
const hookRow = (hookId: string, column: SQL | SQLiteColumn) =>
  sql`(SELECT ${column} FROM ${webhooks} WHERE ${webhooks.id} = ${hookId})`;

/**
 * Reserves up to `wanted` slots starting within the horizon: the first at the hook's first free
 * slot (or `LEAD_MS` from now), each `1000 / pace` ms after the last. Returns the new first free slot, how many
 * were granted and the pace they were spaced at (no row: the hook is not paced).
 */
export function reserveStatement(db: Db, { hookId, wanted, now }: Reservation) {
  const start = sql`MAX(${webhooks.nextSlotAt}, ${now + LEAD_MS})`;
  const granted = sql`CASE WHEN ${start} > ${now + HORIZON_MS} THEN 0 ELSE MIN(${wanted}, CAST((${now + HORIZON_MS} - ${start}) * ${webhooks.pace} / 1000.0 AS INTEGER) + 1) END`;
  return db
    .update(webhooks)
    .set({
      // Every right-hand side reads the row as it was before this statement.
      slotsGranted: granted,
      nextSlotAt: sql`${start} + ${granted} * 1000.0 / ${webhooks.pace}`,
    })
    .where(and(eq(webhooks.id, hookId), isNotNull(webhooks.pace)))
    .returning({
      nextSlotAt: webhooks.nextSlotAt,
      granted: webhooks.slotsGranted,
      pace: webhooks.pace,
    });
}

export type ReserveResult = { nextSlotAt: number; granted: number; pace: number | null }[];

/** The claim condition of the `index`-th (0-based) due delivery of a paced hook: it got a slot. */
export function hasSlot(hookId: string, index: number): SQL {
  return sql`${index} < ${hookRow(hookId, webhooks.slotsGranted)}`;
}

/** Epoch ms of the `index`-th slot of a reservation (granted ones only). */
export function slotAt(reserved: ReserveResult[number], index: number): number {
  return reserved.nextSlotAt - ((reserved.granted - index) * 1000) / (reserved.pace ?? 1);
}

/** A due delivery of a paced hook, `index`-th of that hook in its batch. */
export interface Deferral {
  delivery: { id: number; attempts: number };
  hookId: string;
  index: number;
  dueBy: number;
}

/**
 * For a delivery that got no slot: makes it due `EARLY_MS` before its estimated slot (the first
 * free one plus the deliveries ahead of it without a slot), so neither the scan nor an early
 * message takes it before. Returns that time; no row when it got a slot (or another consumer took
 * it).
 */
export function deferStatement(db: Db, { delivery, hookId, index, dueBy }: Deferral) {
  const granted = hookRow(hookId, webhooks.slotsGranted);
  const estimate = hookRow(
    hookId,
    sql`CAST(${webhooks.nextSlotAt} + (${index} - ${webhooks.slotsGranted}) * 1000.0 / ${webhooks.pace} AS INTEGER) - ${EARLY_MS}`,
  );
  return db
    .update(webhookDeliveries)
    .set({ nextAttemptAt: estimate })
    .where(
      and(
        eq(webhookDeliveries.id, delivery.id),
        eq(webhookDeliveries.attempts, delivery.attempts),
        inArray(webhookDeliveries.status, [...OPEN]),
        lte(webhookDeliveries.nextAttemptAt, dueBy),
        sql`${index} >= ${granted}`,
      ),
    )
    .returning({ nextAttemptAt: webhookDeliveries.nextAttemptAt });
}

/** What a batch's attempts to one hook said about its pace. */
export interface PaceSignal {
  hookId: string;
  /** A 429 answered: slow down (once per batch, however many said it). */
  throttled: boolean;
  successes: number;
}

/** AIMD on a paced hook's pace; null when the batch said nothing about it. */
export function paceStatement(db: Db, { hookId, throttled, successes }: PaceSignal) {
  if (!throttled && successes === 0) return null;
  const pace = throttled
    ? sql`MAX(MIN(${MIN_PACE}, ${webhooks.rateLimit}), ${webhooks.pace} * ${DECREASE})`
    : sql`MIN(${webhooks.rateLimit}, ${webhooks.pace} + ${successes} * ${webhooks.rateLimit} * ${INCREASE_SHARE})`;
  return db
    .update(webhooks)
    .set({ pace })
    .where(and(eq(webhooks.id, hookId), isNotNull(webhooks.rateLimit), isNotNull(webhooks.pace)));
}

function waitUntil(at: number): Promise<void> {
  const ms = at - time.now();
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/** Per paced hook, in this isolate: when its latest send began, once its wait is over. */
const lastSends = new Map<string, Promise<number>>();

/**
 * Waits for a paced delivery's slot, and moreover `1000 / pace` ms after this isolate's previous
 * send to that hook: a send that left late (a busy event loop) must not bring the next one
 * closer to it than the pace allows. D1's slots space the consumers; this spaces what they miss.
 */
export function awaitSlot(hookId: string, slot: number, pace: number): Promise<void> {
  const previous = lastSends.get(hookId) ?? Promise.resolve(Number.NEGATIVE_INFINITY);
  const mine = previous.then(async (last) => {
    await waitUntil(Math.max(slot, last + 1000 / pace));
    return time.now();
  });
  // One settled promise per paced hook this isolate served: as bounded as the hooks are.
  lastSends.set(hookId, mine);
  return mine.then(() => undefined);
}
