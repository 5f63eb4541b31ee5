import { and, asc, desc, eq, gt } from "drizzle-orm";
import type { Db } from "../client";
import { threadMessages } from "../schema/threads";

/**
 * The messages of a thread stored after message `id`, oldest first: the ones its room has not
 * yet published when `id` is the last one it did. Also usable inside a batch.
 */
export function messagesAfter(db: Db, threadId: string, id: number) {
  return db
    .select()
    .from(threadMessages)
    .where(and(eq(threadMessages.threadId, threadId), gt(threadMessages.id, id)))
    .orderBy(asc(threadMessages.id));
}

/** The newest message id of a thread, deleted ones included; 0 when it has none. */
export async function newestMessageId(db: Db, threadId: string): Promise<number> {
  const row = await db
    .select({ id: threadMessages.id })
    .from(threadMessages)
    .where(eq(threadMessages.threadId, threadId))
    .orderBy(desc(threadMessages.id))
    .limit(1)
    .get();
  return row?.id ?? 0;
}
