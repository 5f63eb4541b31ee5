import { z } from "zod";

/**
 * The thread room's server events and replies as zod schemas, twins of the types in
 * `threads.ts` (checked against them at compile time in `server-events.ts`).
 */

const Instant = z.string().meta({ format: "date-time" });

export const AttachmentViewSchema = z
  .object({
    id: z.number().int(),
    type: z.string(),
    title: z.string(),
    description: z.string(),
    src: z.string().nullable(),
    thumbnail: z.unknown(),
    options: z.record(z.string(), z.unknown()).nullable(),
    object_type: z.string().nullable(),
    object_id: z.string().nullable(),
  })
  .meta({ id: "ThreadAttachmentView" });

export const MessageViewSchema = z
  .object({
    id: z.number().int(),
    thread: z.string(),
    sender: z.string().nullable().meta({ description: "null: a system message" }),
    sender_data: z.object({ id: z.string(), name: z.string() }).nullable(),
    type: z.string(),
    text: z.string().meta({ description: "HTML-escaped" }),
    meta: z.record(z.string(), z.unknown()).nullable(),
    related_question: z.string().nullable(),
    answers: z.array(z.string()).nullable(),
    created: Instant,
    updated: Instant,
    has_attachments: z.boolean(),
    attachments_data: z.array(AttachmentViewSchema),
    is_own: z.boolean(),
    is_read: z.boolean().meta({ description: "Read by the receiving member" }),
  })
  .meta({ id: "ThreadMessageView" });

export const DeletedMessageSchema = z
  .object({ id: z.number().int(), thread: z.string(), deleted: z.literal(true) })
  .meta({ id: "ThreadDeletedMessage" });

export const MemberViewSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    type: z.string(),
    created: Instant,
    updated: Instant,
    user_id: z.string().nullable(),
    state: z.string(),
    permissions: z.array(z.string()),
    notifications: z.array(z.string()),
    unread_count: z.number().int(),
    last_message_data: MessageViewSchema.nullable(),
    schema_id: z.string().nullable(),
    question_id: z.string().nullable(),
    initial_question_id: z.string().nullable(),
    related_message_id: z.number().int().nullable(),
    on_finish: z.string().nullable(),
  })
  .meta({
    id: "ThreadMemberView",
    description: "The receiving member's own view of the thread (the chat API's `thread_data`)",
  });

export const ThreadSnapshotSchema = z
  .object({ user_thread: MemberViewSchema.nullable() })
  .meta({ id: "ThreadSnapshot" });

export const threadServerEventSchemas = {
  message_created_or_updated: z.object({
    message: z.union([MessageViewSchema, DeletedMessageSchema]),
    user_thread: MemberViewSchema,
  }),
  thread_someone_is_writing: z.object({
    thread: z.string(),
    user: z.object({ id: z.string(), name: z.string() }),
    length: z.number().int().meta({ description: "How long the signal lasts, in ms" }),
  }),
};

export const threadReplySchemas = {
  mark_message_as_read: z.object({
    message: z.number().int(),
    unread_count: z.number().int().meta({ description: "The member's unread count now" }),
  }),
};
