import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

/**
 * Chat threads (the chat API's `Thread`). No foreign keys: rows are removed explicitly when a
 * thread is deleted, so a drizzle table rebuild can never cascade-delete anything.
 */
export const threads = sqliteTable(
  "threads",
  {
    id: text("id").primaryKey(),
    title: text("title").notNull().default(""),
    type: text("type").notNull(),
    /** The newest message of any type (admin view); members have their own, filtered one. */
    lastMessageId: integer("last_message_id"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [index("threads_type_updated").on(t.type, t.updatedAt)],
);

/**
 * A member of a thread with its own state, permissions (bit set), notification flags (bit set)
 * and last visible message (the chat API's `UserThread`). The schema / question / on_finish /
 * variables / frequency fields belong to the automated conversations built on top.
 */
export const threadMembers = sqliteTable(
  "thread_members",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    threadId: text("thread_id").notNull(),
    userId: text("user_id").notNull(),
    name: text("name").notNull(),
    /** Roles the message filters look at (e.g. `admin` sees `secret` messages). */
    roles: text("roles", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    state: text("state").notNull().default("open"),
    permissions: integer("permissions").notNull(),
    notifications: integer("notifications").notNull(),
    lastMessageId: integer("last_message_id"),
    lang: text("lang"),
    schemaId: text("schema_id"),
    questionId: text("question_id"),
    initialQuestionId: text("initial_question_id"),
    relatedMessageId: integer("related_message_id"),
    onFinish: text("on_finish").notNull().default("open"),
    frequencyUnit: text("frequency_unit"),
    frequencyValue: integer("frequency_value"),
    repeatUntil: text("repeat_until"),
    nextRestart: text("next_restart"),
    variables: text("variables", { mode: "json" })
      .$type<Record<string, unknown>>()
      .notNull()
      .default(sql`'{}'`),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("thread_members_thread_user").on(t.threadId, t.userId),
    index("thread_members_user_updated").on(t.userId, t.updatedAt),
  ],
);

/** Messages; `text` is stored HTML-escaped. `senderId` null = the system (scripted questions). */
export const threadMessages = sqliteTable(
  "thread_messages",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    threadId: text("thread_id").notNull(),
    senderId: text("sender_id"),
    senderName: text("sender_name"),
    type: text("type").notNull(),
    text: text("text").notNull().default(""),
    meta: text("meta", { mode: "json" }).$type<Record<string, unknown>>(),
    relatedQuestionId: text("related_question_id"),
    answers: text("answers", { mode: "json" }).$type<string[]>(),
    deleted: integer("deleted", { mode: "boolean" }).notNull().default(false),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [index("thread_messages_thread_id").on(t.threadId, t.id)],
);

/**
 * The latest stored edit or delete of each message, numbered in D1 commit order, written in the
 * same batch as the change. The thread's room records the last change it published
 * (`published_change_id`, as `published_message_id` for new messages): the rows after it are
 * due, so a change whose broadcast an eviction cut off is sent when the room runs again. One
 * row per message: a later change replaces it under a higher id (`AUTOINCREMENT` never reuses
 * an id), so the table grows with the messages ever changed, not with every change.
 */
export const threadMessageChanges = sqliteTable(
  "thread_message_changes",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    threadId: text("thread_id").notNull(),
    messageId: integer("message_id").notNull(),
  },
  (t) => [
    uniqueIndex("thread_message_changes_message").on(t.messageId),
    index("thread_message_changes_thread_id").on(t.threadId, t.id),
  ],
);

export const threadAttachments = sqliteTable(
  "thread_attachments",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    messageId: integer("message_id").notNull(),
    type: text("type").notNull(),
    title: text("title").notNull().default(""),
    description: text("description").notNull().default(""),
    url: text("url"),
    thumbnail: text("thumbnail", { mode: "json" }).$type<unknown>(),
    options: text("options", { mode: "json" }).$type<Record<string, unknown>>(),
    /** `object_reference` attachments: what the message points at in the app. */
    objectType: text("object_type"),
    objectId: text("object_id"),
  },
  (t) => [index("thread_attachments_message").on(t.messageId)],
);

/** One row per member per unread message, deleted when read (the chat API's `UnreadMessage`). */
export const threadUnread = sqliteTable(
  "thread_unread",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    threadId: text("thread_id").notNull(),
    userId: text("user_id").notNull(),
    messageId: integer("message_id").notNull(),
  },
  (t) => [
    uniqueIndex("thread_unread_message_user").on(t.messageId, t.userId),
    index("thread_unread_user_thread").on(t.userId, t.threadId),
    index("thread_unread_thread").on(t.threadId),
  ],
);

/** One observed thread per user (`POST /api/threads/:id/ws-subscribe`); a new one replaces it. */
export const threadObservers = sqliteTable(
  "thread_observers",
  {
    userId: text("user_id").primaryKey(),
    threadId: text("thread_id").notNull(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("thread_observers_thread").on(t.threadId)],
);
