import { getDb } from "../../db/client";
import { deleteKeysBefore } from "../../db/queries/threads-keys";

/** How long a post's `Idempotency-Key` answers its message: the 24 h of Stripe and Svix. */
export const POST_KEY_RETENTION_MS = 24 * 60 * 60_000;
/** Keys deleted per cron run at most, so one run stays short; a backlog shrinks run by run. */
export const POST_KEY_PRUNE_LIMIT = 5_000;

/**
 * Cron: deletes the oldest keys older than the retention, at most `POST_KEY_PRUNE_LIMIT` of
 * them. A post with a pruned key is a new post: it stores a new message.
 */
export async function prunePostKeys(env: Env): Promise<number> {
  const before = new Date(Date.now() - POST_KEY_RETENTION_MS).toISOString();
  return deleteKeysBefore(getDb(env.DB), before, POST_KEY_PRUNE_LIMIT);
}
