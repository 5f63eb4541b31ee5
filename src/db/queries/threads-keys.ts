import { and, asc, eq, inArray, lt, type SQL, sql } from "drizzle-orm";
import type { Db } from "../client";
import { threadPostKeys } from "../schema/threads";

/** An `Idempotency-Key` of a post: whose it is, the key, and the body it was first sent with. */
export interface PostKey {
  caller: string;
  key: string;
  fingerprint: string;
}

export async function findPostKey(
  db: Db,
  threadId: string,
  caller: string,
  key: string,
): Promise<{ messageId: number; fingerprint: string } | null> {
  const row = await db
    .select({ messageId: threadPostKeys.messageId, fingerprint: threadPostKeys.fingerprint })
    .from(threadPostKeys)
    .where(
      and(
        eq(threadPostKeys.threadId, threadId),
        eq(threadPostKeys.caller, caller),
        eq(threadPostKeys.key, key),
      ),
    )
    .get();
  return row ?? null;
}

/**
 * Records a key for the message `messageId` (an expression inside the message's batch). The
 * primary key refuses a second row for the same caller and key, failing the whole batch: a
 * message is never stored twice under one key.
 */
export function insertPostKey(db: Db, threadId: string, key: PostKey, messageId: SQL) {
  return db.insert(threadPostKeys).values({ threadId, ...key, messageId });
}

/**
 * Deletes up to `limit` keys stored before `before` (an ISO timestamp, the format of
 * `created_at`), oldest first, and answers how many went. D1 has no `DELETE … LIMIT`, so the
 * rows are picked by `rowid` through the `created_at` index.
 */
export async function deleteKeysBefore(db: Db, before: string, limit: number): Promise<number> {
  const oldest = db
    .select({ rowid: sql`rowid` })
    .from(threadPostKeys)
    .where(lt(threadPostKeys.createdAt, before))
    .orderBy(asc(threadPostKeys.createdAt))
    .limit(limit);
  const result = await db.delete(threadPostKeys).where(inArray(sql`rowid`, oldest)).run();
  return result.meta.changes;
}
