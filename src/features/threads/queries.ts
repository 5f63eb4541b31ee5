import { and, asc, desc, eq, ne, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Db } from "../../platform/db";
import { recordCreated } from "../../platform/idempotency/queries";
import * as time from "../../platform/time";
import { changesAfter, type MessageChange, messagesAfter, recordChange } from "./queries-publish";
import {
  threadAttachments,
  threadMembers,
  threadMessageChanges,
  threadMessages,
  threadObservers,
  threads,
  threadUnread,
} from "./schema";

export type ThreadRow = typeof threads.$inferSelect;
export type MemberRow = typeof threadMembers.$inferSelect;
export type NewMember = typeof threadMembers.$inferInsert;
export type MessageRow = typeof threadMessages.$inferSelect;
export type AttachmentRow = typeof threadAttachments.$inferSelect;
export type MemberUpdate = Partial<Omit<MemberRow, "id" | "threadId" | "userId" | "createdAt">>;

const now = () => time.nowIso();

/**
 * `column IN (<values>)` with the list bound as ONE JSON parameter: D1 caps bound parameters
 * per statement at 100, and a thread may have more members than that.
 */
function inList(column: SQLiteColumn, values: readonly (string | number)[]): SQL {
  return sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`;
}

function notInList(column: SQLiteColumn, values: readonly (string | number)[]): SQL {
  return sql`${column} NOT IN (SELECT value FROM json_each(${JSON.stringify(values)}))`;
}

/** The newest message id of a thread: inside a batch, the one just inserted (one writer per thread). */
const newestMessageId = (threadId: string) =>
  sql`(SELECT max(${threadMessages.id}) FROM ${threadMessages} WHERE ${threadMessages.threadId} = ${threadId})`;

// ---- threads ---------------------------------------------------------------------------

export async function insertThreadWithMembers(
  db: Db,
  thread: { id: string; title: string; type: string },
  members: Omit<NewMember, "threadId">[],
): Promise<void> {
  const at = now();
  await db.batch([
    db.insert(threads).values({ ...thread, createdAt: at, updatedAt: at }),
    ...members.map((m) =>
      db.insert(threadMembers).values({ ...m, threadId: thread.id, createdAt: at, updatedAt: at }),
    ),
  ]);
}

export async function findThread(db: Db, id: string): Promise<ThreadRow | null> {
  return (await db.select().from(threads).where(eq(threads.id, id)).get()) ?? null;
}

export async function updateThreadTitle(db: Db, id: string, title: string): Promise<void> {
  await db.update(threads).set({ title, updatedAt: now() }).where(eq(threads.id, id));
}

/** Removes a thread and everything in it, in one transaction. */
export async function deleteThreadCascade(db: Db, id: string): Promise<void> {
  const messageIds = db
    .select({ id: threadMessages.id })
    .from(threadMessages)
    .where(eq(threadMessages.threadId, id));
  await db.batch([
    db.delete(threadUnread).where(eq(threadUnread.threadId, id)),
    db.delete(threadAttachments).where(sql`${threadAttachments.messageId} IN ${messageIds}`),
    db.delete(threadMessages).where(eq(threadMessages.threadId, id)),
    db.delete(threadMembers).where(eq(threadMembers.threadId, id)),
    db.delete(threadObservers).where(eq(threadObservers.threadId, id)),
    db.delete(threadMessageChanges).where(eq(threadMessageChanges.threadId, id)),
    db.delete(threads).where(eq(threads.id, id)),
  ]);
}

/** All threads (the admin's list), newest activity first. */
export async function listAllThreads(
  db: Db,
  types: string[],
  limit: number,
  offset: number,
): Promise<ThreadRow[]> {
  return db
    .select()
    .from(threads)
    .where(inList(threads.type, types))
    .orderBy(desc(threads.updatedAt), desc(threads.id))
    .limit(limit)
    .offset(offset);
}

/** A user's memberships with their threads, newest activity first. */
export async function listMemberThreads(
  db: Db,
  userId: string,
  types: string[],
  limit: number,
  offset: number,
): Promise<{ thread: ThreadRow; member: MemberRow }[]> {
  return db
    .select({ thread: threads, member: threadMembers })
    .from(threadMembers)
    .innerJoin(threads, eq(threads.id, threadMembers.threadId))
    .where(and(eq(threadMembers.userId, userId), inList(threads.type, types)))
    .orderBy(desc(threadMembers.updatedAt), desc(threadMembers.id))
    .limit(limit)
    .offset(offset);
}

// ---- members ---------------------------------------------------------------------------

export async function listMembers(db: Db, threadId: string): Promise<MemberRow[]> {
  return db
    .select()
    .from(threadMembers)
    .where(eq(threadMembers.threadId, threadId))
    .orderBy(asc(threadMembers.id));
}

export async function listMembersPage(
  db: Db,
  threadId: string,
  limit: number,
  offset: number,
): Promise<MemberRow[]> {
  return db
    .select()
    .from(threadMembers)
    .where(eq(threadMembers.threadId, threadId))
    .orderBy(asc(threadMembers.id))
    .limit(limit)
    .offset(offset);
}

export async function findMember(
  db: Db,
  threadId: string,
  userId: string,
): Promise<MemberRow | null> {
  return (
    (await db
      .select()
      .from(threadMembers)
      .where(and(eq(threadMembers.threadId, threadId), eq(threadMembers.userId, userId)))
      .get()) ?? null
  );
}

/** Inserts a member; null when the user is already a member of the thread. */
export async function insertMember(db: Db, member: NewMember): Promise<MemberRow | null> {
  const at = now();
  const rows = await db
    .insert(threadMembers)
    .values({ ...member, createdAt: at, updatedAt: at })
    .onConflictDoNothing()
    .returning();
  return rows[0] ?? null;
}

export async function updateMember(
  db: Db,
  threadId: string,
  userId: string,
  change: MemberUpdate,
): Promise<MemberRow | null> {
  const rows = await db
    .update(threadMembers)
    .set({ ...change, updatedAt: now() })
    .where(and(eq(threadMembers.threadId, threadId), eq(threadMembers.userId, userId)))
    .returning();
  return rows[0] ?? null;
}

/** Removes a member with its unread rows. */
export async function deleteMember(db: Db, threadId: string, userId: string): Promise<void> {
  await db.batch([
    db
      .delete(threadUnread)
      .where(and(eq(threadUnread.threadId, threadId), eq(threadUnread.userId, userId))),
    db
      .delete(threadMembers)
      .where(and(eq(threadMembers.threadId, threadId), eq(threadMembers.userId, userId))),
  ]);
}

// ---- messages --------------------------------------------------------------------------

export interface NewMessage {
  threadId: string;
  senderId: string | null;
  senderName: string | null;
  type: string;
  text: string;
  meta: Record<string, unknown> | null;
  relatedQuestionId: string | null;
  answers: string[] | null;
  attachments: Omit<typeof threadAttachments.$inferInsert, "messageId">[];
  /** Members that get an unread row (the `unread` flag, the filter, not the sender). */
  unreadFor: string[];
  /** Members whose `last_message` becomes this message (the filter lets them see it). */
  lastFor: string[];
  /** The row of the poster's `Idempotency-Key`, which records the message. */
  keyId: string | null;
  /** The last message of the thread its room has published. */
  publishedUpTo: number;
  /** What announces the message in the same transaction (its outbox), given its new id. */
  announce: (id: SQL) => BatchItem<"sqlite">[];
}

/**
 * Stores a message with its attachments, unread rows, every `last_message` pointer and its
 * record on the request's idempotency key and what announces it in one transaction, so no
 * reader ever sees the message without them and it is never stored without its events.
 * Answers it with every message of the thread its room has yet to publish, this one included,
 * read in the same transaction.
 */
export async function insertMessage(
  db: Db,
  input: NewMessage,
): Promise<{ message: MessageRow; unpublished: MessageRow[] }> {
  const at = now();
  const { attachments, unreadFor, lastFor, keyId, publishedUpTo, announce, ...message } = input;
  const id = newestMessageId(input.threadId);
  const statements: BatchItem<"sqlite">[] = [
    ...attachments.map((a) => db.insert(threadAttachments).values({ ...a, messageId: id })),
    db
      .update(threads)
      .set({ lastMessageId: id, updatedAt: at })
      .where(eq(threads.id, input.threadId)),
    db
      .update(threadMembers)
      .set({
        updatedAt: at,
        lastMessageId: lastFor.length
          ? sql`CASE WHEN ${inList(threadMembers.userId, lastFor)} THEN ${id} ELSE ${threadMembers.lastMessageId} END`
          : sql`${threadMembers.lastMessageId}`,
      })
      .where(eq(threadMembers.threadId, input.threadId)),
  ];
  if (unreadFor.length) {
    statements.push(
      db
        .insert(threadUnread)
        .select(
          sql`SELECT NULL, ${input.threadId}, value, ${id} FROM json_each(${JSON.stringify(unreadFor)})`,
        ),
    );
  }
  if (keyId) statements.push(recordCreated(db, keyId, id));
  statements.push(...announce(id));
  const [rows, ...rest] = await db.batch([
    db
      .insert(threadMessages)
      .values({ ...message, createdAt: at, updatedAt: at })
      .returning(),
    ...statements,
    messagesAfter(db, input.threadId, publishedUpTo),
  ]);
  return { message: rows[0]!, unpublished: rest.at(-1) as MessageRow[] };
}

export async function findMessage(
  db: Db,
  threadId: string,
  id: number,
): Promise<MessageRow | null> {
  return (
    (await db
      .select()
      .from(threadMessages)
      .where(
        and(
          eq(threadMessages.threadId, threadId),
          eq(threadMessages.id, id),
          eq(threadMessages.deleted, false),
        ),
      )
      .get()) ?? null
  );
}

/** A stored edit or delete, with every change the room has not published yet (it included). */
export interface StoredChange {
  message: MessageRow;
  unpublished: MessageChange[];
}

/**
 * Edits a message and records the change in one transaction, reading in it the changes after
 * `publishedUpTo` (the last one the room published).
 */
export async function updateMessage(
  db: Db,
  threadId: string,
  id: number,
  change: { text?: string; meta?: Record<string, unknown> | null },
  publishedUpTo: number,
): Promise<StoredChange> {
  const [rows, , , unpublished] = await db.batch([
    db
      .update(threadMessages)
      .set({ ...change, updatedAt: now() })
      .where(eq(threadMessages.id, id))
      .returning(),
    ...recordChange(db, threadId, id),
    changesAfter(db, threadId, publishedUpTo),
  ]);
  return { message: rows[0]!, unpublished };
}

/** Members whose `last_message` is a deleted message, and the message types they may not see. */
export interface LastMessageMove {
  userIds: string[];
  hiddenTypes: string[];
}

/** The newest message of a thread that is not deleted and not of a hidden type, inside a batch. */
function lastVisible(threadId: string, hiddenTypes: string[]): SQL {
  const hidden = hiddenTypes.length
    ? sql` AND ${notInList(threadMessages.type, hiddenTypes)}`
    : sql``;
  return sql`(SELECT max(${threadMessages.id}) FROM ${threadMessages} WHERE ${threadMessages.threadId} = ${threadId} AND ${threadMessages.deleted} = 0${hidden})`;
}

/**
 * Soft-deletes a message in one transaction: its unread rows go (nobody can read it any more),
 * the thread's and the `moves` members' `last_message` pointing at it move back to the newest
 * message each may see, and the change is recorded. Answers the message, the users whose unread
 * count fell, and the changes after `publishedUpTo` (the last one the room published).
 */
export async function softDeleteMessage(
  db: Db,
  threadId: string,
  id: number,
  moves: LastMessageMove[],
  publishedUpTo: number,
): Promise<StoredChange & { unreadBy: string[] }> {
  const [rows, unread, ...rest] = await db.batch([
    db
      .update(threadMessages)
      .set({ deleted: true, updatedAt: now() })
      .where(eq(threadMessages.id, id))
      .returning(),
    db
      .delete(threadUnread)
      .where(eq(threadUnread.messageId, id))
      .returning({ userId: threadUnread.userId }),
    db
      .update(threads)
      .set({ lastMessageId: lastVisible(threadId, []) })
      .where(and(eq(threads.id, threadId), eq(threads.lastMessageId, id))),
    ...moves.map((move) =>
      db
        .update(threadMembers)
        .set({ lastMessageId: lastVisible(threadId, move.hiddenTypes) })
        .where(
          and(
            eq(threadMembers.threadId, threadId),
            eq(threadMembers.lastMessageId, id),
            inList(threadMembers.userId, move.userIds),
          ),
        ),
    ),
    ...recordChange(db, threadId, id),
    changesAfter(db, threadId, publishedUpTo),
  ]);
  return {
    message: rows[0]!,
    unreadBy: unread.map((r) => r.userId),
    unpublished: rest.at(-1) as MessageChange[],
  };
}

export interface MessageQuery {
  hiddenTypes: string[];
  /** Every word must occur in the (stored, escaped) text, case-insensitively. */
  words: string[];
  limit: number;
  offset: number;
}

function likeEscaped(word: string): string {
  return `%${word.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Visible messages newest first; `limit + 1` rows tell whether there is a next page. */
export async function listMessages(
  db: Db,
  threadId: string,
  query: MessageQuery,
): Promise<MessageRow[]> {
  const where = [eq(threadMessages.threadId, threadId), eq(threadMessages.deleted, false)];
  if (query.hiddenTypes.length) where.push(notInList(threadMessages.type, query.hiddenTypes));
  for (const word of query.words) {
    where.push(sql`lower(${threadMessages.text}) LIKE ${likeEscaped(word)} ESCAPE '\\'`);
  }
  return db
    .select()
    .from(threadMessages)
    .where(and(...where))
    .orderBy(desc(threadMessages.id))
    .limit(query.limit + 1)
    .offset(query.offset);
}

export async function messagesByIds(db: Db, ids: number[]): Promise<MessageRow[]> {
  if (!ids.length) return [];
  return db.select().from(threadMessages).where(inList(threadMessages.id, ids));
}

export async function attachmentsOf(db: Db, messageIds: number[]): Promise<AttachmentRow[]> {
  if (!messageIds.length) return [];
  return db
    .select()
    .from(threadAttachments)
    .where(inList(threadAttachments.messageId, messageIds))
    .orderBy(asc(threadAttachments.id));
}

/** The newest message a viewer may see (the list filter's hidden types excluded). */
export async function lastVisibleMessageId(
  db: Db,
  threadId: string,
  hiddenTypes: string[],
): Promise<number | null> {
  const where = [eq(threadMessages.threadId, threadId), eq(threadMessages.deleted, false)];
  if (hiddenTypes.length) where.push(notInList(threadMessages.type, hiddenTypes));
  const row = await db
    .select({ id: threadMessages.id })
    .from(threadMessages)
    .where(and(...where))
    .orderBy(desc(threadMessages.id))
    .limit(1)
    .get();
  return row?.id ?? null;
}

// ---- unread ----------------------------------------------------------------------------

export async function unreadCounts(db: Db, threadId: string): Promise<Map<string, number>> {
  const rows = await db
    .select({ userId: threadUnread.userId, count: sql<number>`count(*)` })
    .from(threadUnread)
    .where(eq(threadUnread.threadId, threadId))
    .groupBy(threadUnread.userId);
  return new Map(rows.map((r) => [r.userId, r.count]));
}

export async function unreadCountsForUser(
  db: Db,
  userId: string,
  threadIds: string[],
): Promise<Map<string, number>> {
  if (!threadIds.length) return new Map();
  const rows = await db
    .select({ threadId: threadUnread.threadId, count: sql<number>`count(*)` })
    .from(threadUnread)
    .where(and(eq(threadUnread.userId, userId), inList(threadUnread.threadId, threadIds)))
    .groupBy(threadUnread.threadId);
  return new Map(rows.map((r) => [r.threadId, r.count]));
}

export async function unreadCount(db: Db, threadId: string, userId: string): Promise<number> {
  return (await unreadCountsForUser(db, userId, [threadId])).get(threadId) ?? 0;
}

/** The unread rows of these messages, as `user id:message id` keys. */
export async function unreadKeys(
  db: Db,
  threadId: string,
  messageIds: number[],
): Promise<Set<string>> {
  if (!messageIds.length) return new Set();
  const rows = await db
    .select({ userId: threadUnread.userId, messageId: threadUnread.messageId })
    .from(threadUnread)
    .where(and(eq(threadUnread.threadId, threadId), inList(threadUnread.messageId, messageIds)));
  return new Set(rows.map((r) => `${r.userId}:${r.messageId}`));
}

/** Which of these messages are unread for the user. */
export async function unreadMessageIds(
  db: Db,
  userId: string,
  messageIds: number[],
): Promise<Set<number>> {
  if (!messageIds.length) return new Set();
  const rows = await db
    .select({ messageId: threadUnread.messageId })
    .from(threadUnread)
    .where(and(eq(threadUnread.userId, userId), inList(threadUnread.messageId, messageIds)));
  return new Set(rows.map((r) => r.messageId));
}

/** Deletes the user's unread rows of these messages; answers the ids that were unread. */
export async function markRead(
  db: Db,
  threadId: string,
  userId: string,
  messageIds: number[],
): Promise<Set<number>> {
  if (!messageIds.length) return new Set();
  const rows = await db
    .delete(threadUnread)
    .where(
      and(
        eq(threadUnread.threadId, threadId),
        eq(threadUnread.userId, userId),
        inList(threadUnread.messageId, messageIds),
      ),
    )
    .returning({ messageId: threadUnread.messageId });
  return new Set(rows.map((r) => r.messageId));
}

// ---- observers -------------------------------------------------------------------------

/** Makes `threadId` the user's one observed thread; answers the thread it replaced, if any. */
export async function setObservedThread(
  db: Db,
  userId: string,
  threadId: string,
): Promise<string | null> {
  const [previous] = await db.batch([
    db
      .select({ threadId: threadObservers.threadId })
      .from(threadObservers)
      .where(and(eq(threadObservers.userId, userId), ne(threadObservers.threadId, threadId))),
    db
      .insert(threadObservers)
      .values({ userId, threadId, createdAt: now() })
      .onConflictDoUpdate({
        target: threadObservers.userId,
        set: { threadId, createdAt: now() },
      }),
  ]);
  return previous[0]?.threadId ?? null;
}

export async function isObserving(db: Db, userId: string, threadId: string): Promise<boolean> {
  const row = await db
    .select({ userId: threadObservers.userId })
    .from(threadObservers)
    .where(and(eq(threadObservers.userId, userId), eq(threadObservers.threadId, threadId)))
    .get();
  return row !== undefined;
}
