import { and, eq, type SQL } from "drizzle-orm";
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
