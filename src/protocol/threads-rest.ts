import { z } from "zod";

/**
 * The threads REST answers (contract §7): the routes document and answer with these schemas, the
 * SDK and the chat page use the types inferred from them. `meta({ id })` names them in the
 * OpenAPI document. The member's states, permissions and notification flags are named here once;
 * the threads feature keeps their stored bits.
 */

export const MEMBER_STATES = [
  "open",
  "closed",
  "scripted",
  "scripted_fe_controlled",
  "assisted",
] as const;
export type MemberState = (typeof MEMBER_STATES)[number];

/** What a scripted member becomes at the end of its schema. */
export const ON_FINISH = ["open", "close", "repeat"] as const;
export type OnFinish = (typeof ON_FINISH)[number];

/** The units of a scripted member's repeats. */
export const FREQUENCY_UNITS = ["hours", "days", "weeks", "months"] as const;
export type FrequencyUnit = (typeof FREQUENCY_UNITS)[number];

/** In the order of their bits (the chat API's), which is how lists of them are written. */
export const PERMISSION_NAMES = [
  "messages_read",
  "messages_create",
  "messages_edit",
  "messages_delete",
  "thread_read",
  "thread_edit",
  "thread_delete",
  "add_user",
  "remove_user",
  "control_others",
  "break_state",
  "rollback",
  "reopen",
] as const;
export type MemberPermission = (typeof PERMISSION_NAMES)[number];

export const NOTIFICATION_NAMES = ["unread", "ws", "push"] as const;
export type NotificationFlag = (typeof NOTIFICATION_NAMES)[number];

const Timestamp = z.string().meta({ format: "date-time" });

export const ThreadAttachment = z
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
  .meta({ id: "ThreadAttachment" });

export const ThreadMessage = z
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
    created: Timestamp,
    updated: Timestamp,
    has_attachments: z.boolean(),
    attachments_data: z.array(ThreadAttachment),
    is_own: z.boolean(),
    is_read: z.boolean(),
  })
  .meta({ id: "ThreadMessage" });

export const UserThread = z
  .object({
    id: z.string(),
    title: z.string(),
    type: z.string(),
    created: Timestamp,
    updated: Timestamp,
    user_id: z.string().nullable(),
    state: z.enum(MEMBER_STATES),
    permissions: z.array(z.enum(PERMISSION_NAMES)),
    notifications: z.array(z.enum(NOTIFICATION_NAMES)),
    unread_count: z.number().int(),
    last_message_data: ThreadMessage.nullable(),
    schema_id: z.string().nullable(),
    question_id: z.string().nullable(),
    initial_question_id: z.string().nullable(),
    related_message_id: z.number().int().nullable(),
    on_finish: z.string().nullable(),
  })
  .meta({
    id: "UserThread",
    description:
      "The caller's own view of a thread (its member record). The admin token gets a closed view with every permission.",
  });

/** What creating or reading one thread answers: the caller's view and who is in it. */
export const ThreadDetail = UserThread.extend({
  users: z.array(z.object({ user_id: z.string(), name: z.string() })),
}).meta({ id: "ThreadDetail" });

/** A posted or edited message with the poster's own view of the thread. */
export const ThreadMessageWithThread = ThreadMessage.extend({ user_thread: UserThread }).meta({
  id: "ThreadMessageWithThread",
});

export type ThreadAttachment = z.infer<typeof ThreadAttachment>;
export type ThreadMessage = z.infer<typeof ThreadMessage>;
export type UserThread = z.infer<typeof UserThread>;
export type ThreadDetail = z.infer<typeof ThreadDetail>;
export type ThreadMessageWithThread = z.infer<typeof ThreadMessageWithThread>;
