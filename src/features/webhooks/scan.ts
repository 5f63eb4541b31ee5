import { getDb } from "../../platform/db";
import { logger } from "../../platform/log";
import { record } from "../../platform/metrics";
import * as time from "../../platform/time";
import { oldestOverdueAt, takeOverdueDeliveries } from "./queries";
import { enqueueDeliveries } from "./queue";

const SCAN_LIMIT = 500;

/**
 * Cron, every minute: re-enqueues deliveries left pending or retrying past their due time (or
 * their attempt's lease), e.g. after a crash between a write and its dispatch, a failed Queue
 * send, or a message lost with a restarted `wrangler dev`. No grace beyond the due time: with a
 * tick a minute, whatever a crash leaves is sent within 60 s. A delivery whose message is only
 * late gets a second one, which is harmless: an attempt is claimed in D1 before it is made.
 */
export async function scanUndelivered(env: Env): Promise<number> {
  const now = time.now();
  // Due before this scan began: what it takes now is due at `now`, so a second scan in the same
  // millisecond leaves it alone.
  const oldest = await oldestOverdueAt(getDb(env.DB), now - 1);
  const ids = await takeOverdueDeliveries(getDb(env.DB), now - 1, now, SCAN_LIMIT);
  // The outbox's lag: how late the oldest undelivered delivery is (0 when none is overdue).
  record(env, {
    name: "outbox.lag",
    overdue: ids.length,
    lagMs: oldest === null ? 0 : now - oldest,
  });
  await enqueueDeliveries(env, ids);
  if (ids.length > 0) {
    logger.warn(`Webhook scan: re-enqueued ${ids.length} overdue deliveries`, {
      event: "webhook.scan_reenqueued",
      count: ids.length,
    });
  }
  return ids.length;
}
