// Adds .openapi() to zod's schemas (extendZodWithOpenApi) before this module runs.
import "@hono/zod-openapi";
import { z } from "zod";
import { PaginationQuery } from "../../platform/http/router";
import { MEMBER_STATES } from "./member-state";
import { NOTIFICATION_NAMES } from "./notifications";
import { PERMISSION_NAMES } from "./permissions";

/** OpenAPI shapes of the threads area's answers (contract §7). */

const Timestamp = z.string().openapi({ format: "date-time" });

export const ThreadParams = z.object({
  id: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: "id", in: "path" } }),
});
export const UserParams = ThreadParams.extend({
  user_id: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: "user_id", in: "path" } }),
});
export const MessageParams = ThreadParams.extend({
  mid: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "mid", in: "path" }, type: "integer" }),
});

/**
 * The one pagination query (`PaginationQuery`) with its `?limit=` left to the chat settings (their
 * default, normally 50, max 200; `pageLimit`).
 */
export const PageQuery = PaginationQuery.extend({
  limit: z.coerce.number().int().min(1).optional().openapi({ example: 50 }),
});

export const Attachment = z
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
  .openapi("ThreadAttachment");

export const Message = z
  .object({
    id: z.number().int(),
    thread: z.string(),
    sender: z.string().nullable().openapi({ description: "null: a system message" }),
    sender_data: z.object({ id: z.string(), name: z.string() }).nullable(),
    type: z.string(),
    text: z.string().openapi({ description: "HTML-escaped" }),
    meta: z.record(z.string(), z.unknown()).nullable(),
    related_question: z.string().nullable(),
    answers: z.array(z.string()).nullable(),
    created: Timestamp,
    updated: Timestamp,
    has_attachments: z.boolean(),
    attachments_data: z.array(Attachment),
    is_own: z.boolean(),
    is_read: z.boolean(),
  })
  .openapi("ThreadMessage");

export const MemberView = z
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
    last_message_data: Message.nullable(),
    schema_id: z.string().nullable(),
    question_id: z.string().nullable(),
    initial_question_id: z.string().nullable(),
    related_message_id: z.number().int().nullable(),
    on_finish: z.string().nullable(),
  })
  .openapi("UserThread", {
    description:
      "The caller's own view of a thread (its member record). The admin token gets a closed view with every permission.",
  });

export const ThreadDetail = MemberView.extend({
  users: z.array(z.object({ user_id: z.string(), name: z.string() })),
}).openapi("ThreadDetail");

export const ThreadUser = z
  .object({
    user_id: z.string(),
    name: z.string(),
    roles: z.array(z.string()),
    permissions: z.array(z.enum(PERMISSION_NAMES)),
    notifications: z.array(z.enum(NOTIFICATION_NAMES)),
    state: z.enum(MEMBER_STATES),
    created: Timestamp,
    updated: Timestamp,
  })
  .catchall(z.unknown())
  .openapi("ThreadUser", {
    description:
      "A member. Callers with `control_others` also see schema_id, question_id, initial_question_id, related_message_id, on_finish, lang, frequency_*, repeat_until, next_restart, variables.",
  });

export const MessageWithThread = Message.extend({ user_thread: MemberView }).openapi(
  "ThreadMessageWithThread",
);
