import { and, asc, eq, inArray, lt, type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Db } from "../../platform/db";
import { webhookDeliveries } from "./schema";

/**
 * Ordered delivery (see docs/webhooks-ordering.md): a hook created with `ordered: true` gets the
 * events that share an ordering key one at a time, in emit order (the deliveries' id order). The
 * rule lives in D1 only: a delivery with a key is claimed only while no open delivery of the same
 * hook and key is ahead of it. A message for a delivery held back that way is acked and the
 * delivery waits in D1; whoever closes the head of the key enqueues the next one.
 */

/** The longest ordering key an emit may give. */
export const MAX_ORDERING_KEY_LENGTH = 200;

/** The key of a built-in (room) event when its emitter gives none: the room it comes from. */
const ROOM_KEYS: Record<string, (data: Record<string, unknown>) => unknown> = {
  "poker.session_ended": (d) => d.session_id,
  "poker.story_points_submitted": (d) => d.session_id,
  "thread.message_created": (d) => d.thread_id,
  "state.changed": (d) => d.person_key,
  "bus.notification": (d) => `${d.db}:${d.channel}`,
};

/**
 * An event's ordering key: the one given at emit, else its room's (poker session, thread,
 * person, bus `db:channel`), else none (an app event emitted without a key is in no order).
 */
export function orderingKeyOf(
  eventType: string,
  data: unknown,
  given?: string | null,
): string | null {
  if (given) return given;
  const derive = ROOM_KEYS[eventType];
  if (!derive || typeof data !== "object" || data === null) return null;
  const key = derive(data as Record<string, unknown>);
  return key === undefined || key === null ? null : String(key).slice(0, MAX_ORDERING_KEY_LENGTH);
}

const ahead = alias(webhookDeliveries, "ahead");
const OPEN = ["pending", "retrying"] as const;

/**
 * True when the delivery `d` (a row of `webhook_deliveries` in the outer query) may go now: it
 * has no key, or no open delivery of its hook and key comes before it.
 */
export function firstOfItsKey(d: typeof webhookDeliveries = webhookDeliveries): SQL {
  return sql`(${d.orderingKey} IS NULL OR NOT EXISTS (SELECT 1 FROM ${webhookDeliveries} AS ${sql.identifier("ahead")} WHERE ${and(
    eq(ahead.webhookId, d.webhookId),
    eq(ahead.orderingKey, d.orderingKey),
    inArray(ahead.status, [...OPEN]),
    lt(ahead.id, d.id),
  )}))`;
}

/** The statement finding the open delivery that now heads `key` of a hook (the next to send). */
export function headOfKeyStatement(db: Db, webhookId: string, key: string) {
  return db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.webhookId, webhookId),
        eq(webhookDeliveries.orderingKey, key),
        inArray(webhookDeliveries.status, [...OPEN]),
      ),
    )
    .orderBy(asc(webhookDeliveries.id))
    .limit(1);
}
