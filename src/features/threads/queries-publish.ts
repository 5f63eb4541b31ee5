import { and, asc, desc, eq, gt, sql } from "drizzle-orm";
import type { Db } from "../../platform/db";
import { threadMessageChanges, threadMessages } from "./schema";

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

/** A stored edit or delete: its number in commit order and the message as it is now. */
export interface MessageChange {
  changeId: number;
  message: typeof threadMessages.$inferSelect;
}

/**
 * Records an edit or delete of message `messageId`, for a batch that also stores the change: the
 * message's earlier record goes and a new one takes the next id.
 */
export function recordChange(db: Db, threadId: string, messageId: number) {
  return [
    db.delete(threadMessageChanges).where(eq(threadMessageChanges.messageId, messageId)),
    db.insert(threadMessageChanges).values({ threadId, messageId }),
  ] as const;
}

/**
 * The edits and deletes of a thread recorded after change `id`, in commit order, each with its
 * message as stored now: the ones its room has not yet published when `id` is the last one it
 * did. Also usable inside a batch.
 */
export function changesAfter(db: Db, threadId: string, id: number) {
  // Aliased: D1 answers rows keyed by column name, and a second `id` would hide the message's.
  const changeId = sql<number>`${threadMessageChanges.id}`.as("change_id");
  return db
    .select({ changeId, message: threadMessages })
    .from(threadMessageChanges)
    .innerJoin(threadMessages, eq(threadMessages.id, threadMessageChanges.messageId))
    .where(and(eq(threadMessageChanges.threadId, threadId), gt(threadMessageChanges.id, id)))
    .orderBy(asc(threadMessageChanges.id));
}

/** The newest change id of a thread; 0 when none of its messages was ever edited or deleted. */
export async function newestChangeId(db: Db, threadId: string): Promise<number> {
  const row = await db
    .select({ id: threadMessageChanges.id })
    .from(threadMessageChanges)
    .where(eq(threadMessageChanges.threadId, threadId))
    .orderBy(desc(threadMessageChanges.id))
    .limit(1)
    .get();
  return row?.id ?? 0;
}

/** Everything a room has not published yet: new messages and changes, each oldest first. */
export async function unpublishedAfter(
  db: Db,
  threadId: string,
  published: { messageId: number; changeId: number },
): Promise<{ messages: (typeof threadMessages.$inferSelect)[]; changes: MessageChange[] }> {
  const [messages, changes] = await db.batch([
    messagesAfter(db, threadId, published.messageId),
    changesAfter(db, threadId, published.changeId),
  ]);
  return { messages, changes };
}
