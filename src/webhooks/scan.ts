import { getDb } from "../db/client";
import { takeOverdueDeliveries } from "../db/queries/webhooks";
import { enqueueDeliveries } from "./queue";

/** A delivery this late (past its due time or its attempt's lease) has lost its message. */
export const SCAN_GRACE_MS = 5 * 60_000;
const SCAN_LIMIT = 500;

/**
 * Cron: re-enqueues deliveries left pending or retrying past their due time, e.g. after a crash
 * between recording and enqueueing, or a Queue message lost with a restarted `wrangler dev`.
 * A duplicate message is harmless: an attempt is claimed in D1 before it is made.
 */
export async function scanUndelivered(env: Env): Promise<number> {
  const now = Date.now();
  const ids = await takeOverdueDeliveries(getDb(env.DB), now - SCAN_GRACE_MS, now, SCAN_LIMIT);
  await enqueueDeliveries(env, ids);
  if (ids.length > 0) console.warn(`Webhook scan: re-enqueued ${ids.length} overdue deliveries`);
  return ids.length;
}
