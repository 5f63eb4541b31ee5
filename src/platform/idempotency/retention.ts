import { getDb } from "../db";
import * as time from "../time";
import { deleteKeysBefore } from "./queries";

/** How long an `Idempotency-Key` answers its first request: the 24 h of Stripe and Svix. */
export const KEY_RETENTION_MS = 24 * 60 * 60_000;
/** Keys deleted per cron run at most, so one run stays short; a backlog shrinks run by run. */
export const KEY_PRUNE_LIMIT = 5_000;

/**
 * Cron: deletes the oldest keys older than the retention, at most `KEY_PRUNE_LIMIT` of them.
 * A request with a pruned (or merely expired) key is a new request.
 */
export async function pruneIdempotencyKeys(env: Env): Promise<number> {
  return deleteKeysBefore(getDb(env.DB), time.now() - KEY_RETENTION_MS, KEY_PRUNE_LIMIT);
}
