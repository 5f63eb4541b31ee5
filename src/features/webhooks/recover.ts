import { and, asc, eq, gte } from "drizzle-orm";
import { type Db, getDb } from "../../platform/db";
import { badRequest } from "../../platform/errors";
import * as time from "../../platform/time";
import { refusalToCarry } from "./access";
import { reopenDelivery, type WebhookRow } from "./queries";
import { enqueueDeliveries } from "./queue";
import { webhookDeliveries, webhookEvents } from "./schema";

/**
 * Recover (contract §6, as Svix's): every delivery of one hook that gave up since a moment is sent
 * again, through the same reopen + Queue path as a single redelivery.
 */

/** How far back a recovery may reach: older failures are history, not an outage to mend. */
export const RECOVER_WINDOW_MS = 7 * 24 * 3_600_000;

/** `since` as epoch ms, refused (400 naming `since`) in the future or more than 7 days back. */
export function recoverSince(iso: string): number {
  const since = Date.parse(iso);
  const now = time.now();
  if (since > now) throw badRequest("since is in the future", { since: ["In the future"] });
  if (since < now - RECOVER_WINDOW_MS) {
    throw badRequest("since is more than 7 days ago", { since: ["At most 7 days ago"] });
  }
  return since;
}

/**
 * The failed deliveries of `hook` whose `by` time is at or after `since`, oldest first, with
 * their events, leaving out those the hook may no longer carry (its type may have changed).
 */
export async function failedDeliveries(
  db: Db,
  hook: WebhookRow,
  since: number,
  by: "createdAt" | "updatedAt",
) {
  const rows = await db
    .select({ delivery: webhookDeliveries, event: webhookEvents })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.uuid, webhookDeliveries.eventUuid))
    .where(
      and(
        eq(webhookDeliveries.webhookId, hook.id),
        eq(webhookDeliveries.status, "failed"),
        gte(webhookDeliveries[by], since),
      ),
    )
    .orderBy(asc(webhookDeliveries.id));
  return rows.filter(({ event }) => !refusalToCarry(hook, event.eventType));
}

/** Reopens and queues `failed` in order; how many went. */
export async function resend(
  env: Env,
  db: Db,
  hook: WebhookRow,
  failed: Awaited<ReturnType<typeof failedDeliveries>>,
): Promise<number> {
  const ids: number[] = [];
  for (const { delivery, event } of failed) {
    // Null when a concurrent redelivery reopened it first: it is on its way already.
    const id = await reopenDelivery(db, hook.id, event, delivery);
    if (id !== null) ids.push(id);
  }
  await enqueueDeliveries(env, ids);
  return ids.length;
}

/** Re-sends every failed delivery of `hook` made at or after `since`; how many went. */
export async function recoverFailed(env: Env, hook: WebhookRow, since: number): Promise<number> {
  const db = getDb(env.DB);
  return resend(env, db, hook, await failedDeliveries(db, hook, since, "createdAt"));
}
