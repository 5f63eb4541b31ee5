import { and, eq, inArray, isNull } from "drizzle-orm";
import type { Db } from "../../platform/db";
import * as time from "../../platform/time";
import { firstOfItsKey } from "./ordering";
import {
  type DeliveryContext,
  type DeliveryRow,
  type EventRow,
  type NewEvent,
  recordEventStatements,
  type WebhookRow,
} from "./queries";
import { webhookDeliveries, webhookEvents, webhooks } from "./schema";

/**
 * Records events (as `recordEvents`) and, in the same D1 transaction, claims the first attempt of
 * their new deliveries, so the emitter attempts them at once without another round trip.
 *
 * The claim is the consumer's claim (`claimAttempts`) for a delivery that has just been inserted:
 * it is open, never attempted and due, and its hook is active and may carry the event (the insert
 * selected exactly those hooks). Ordering is the same rule (`firstOfItsKey`); a paced hook's
 * deliveries are not claimed here, since their slots are reserved by the consumer's path.
 */

export interface RecordedGroup {
  /** Each event's new delivery ids, in order. */
  ids: number[][];
  /** The new deliveries this transaction claimed, with hook and event, as before the claim. */
  claimed: (DeliveryContext & { hook: NonNullable<DeliveryContext["hook"]> } & {
    event: NonNullable<DeliveryContext["event"]>;
  })[];
  /** The new deliveries it did not claim, with their hooks: paced ones and ordered ones waiting. */
  unclaimed: DeliveryContext[];
}

export async function recordAndClaim(
  db: Db,
  events: (NewEvent & { uuid: string })[],
  leaseUntil: number,
): Promise<RecordedGroup> {
  const recording = recordEventStatements(db, events);
  const [first, ...rest] = recording;
  if (!first) return { ids: [], claimed: [], unclaimed: [] };
  const at = time.now();
  // What this transaction inserted: the events' deliveries that were never attempted. A delivery
  // of the same uuid recorded earlier and still untouched may be among them: claiming it is the
  // attempt it waits for.
  const fresh = and(
    inArray(
      webhookDeliveries.eventUuid,
      events.map((e) => e.uuid),
    ),
    eq(webhookDeliveries.status, "pending"),
  );
  const claim = db
    .update(webhookDeliveries)
    .set({ attempts: 1, nextAttemptAt: leaseUntil, updatedAt: at })
    .where(
      and(
        fresh,
        eq(webhookDeliveries.attempts, 0),
        firstOfItsKey(),
        inArray(
          webhookDeliveries.webhookId,
          db
            .select({ id: webhooks.id })
            .from(webhooks)
            .where(and(eq(webhooks.isActive, true), isNull(webhooks.pace))),
        ),
      ),
    )
    .returning({ id: webhookDeliveries.id });
  // Three plain reads, no join: D1's batch answers rows as objects, so joined tables' columns of
  // the same name (id, created_at, …) would overwrite each other.
  const uuids = events.map((e) => e.uuid);
  const deliveries = db
    .select()
    .from(webhookDeliveries)
    .where(and(fresh, inArray(webhookDeliveries.attempts, [0, 1])));
  const hooks = db
    .select()
    .from(webhooks)
    .where(
      inArray(
        webhooks.id,
        db.select({ id: webhookDeliveries.webhookId }).from(webhookDeliveries).where(fresh),
      ),
    );
  const recorded = db.select().from(webhookEvents).where(inArray(webhookEvents.uuid, uuids));
  const results = (await db.batch([
    first,
    ...rest,
    claim,
    deliveries,
    hooks,
    recorded,
  ])) as unknown[];
  const n = recording.length;
  const ids = events.map((_, i) => (results[i * 3] as { id: number }[]).map((row) => row.id));
  const won = new Set((results[n] as { id: number }[]).map((row) => row.id));
  const hookById = new Map((results[n + 2] as WebhookRow[]).map((h) => [h.id, h]));
  const eventByUuid = new Map((results[n + 3] as EventRow[]).map((e) => [e.uuid, e]));
  const claimed: RecordedGroup["claimed"] = [];
  const unclaimed: DeliveryContext[] = [];
  for (const delivery of results[n + 1] as DeliveryRow[]) {
    const hook = hookById.get(delivery.webhookId);
    const event = eventByUuid.get(delivery.eventUuid);
    if (won.has(delivery.id) && hook && event) {
      claimed.push({ delivery: { ...delivery, attempts: 0 }, hook, event });
    } else if (delivery.attempts === 0) {
      unclaimed.push({ delivery, hook: hook ?? null, event: event ?? null });
    }
  }
  return { ids, claimed, unclaimed };
}
