// Adds .openapi() to zod's schemas (extendZodWithOpenApi) before this module runs.
import "@hono/zod-openapi";
import { z } from "zod";
import { PaginationQuery } from "../../platform/http/router";
import {
  MEMBER_STATES,
  NOTIFICATION_NAMES,
  PERMISSION_NAMES,
  ThreadDetail as ThreadDetailSchema,
  ThreadMessage,
  UserThread,
} from "../../protocol/threads-rest";

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

/**
 * The answers' shapes are the protocol module's (the SDK's types come from them). Named again
 * with `.openapi()` here so that the document writes the extended ones as `allOf` of their base.
 */
export const Message = ThreadMessage.openapi("ThreadMessage");

export const MemberView = UserThread.openapi("UserThread");

export const ThreadDetail = MemberView.extend({ users: ThreadDetailSchema.shape.users }).openapi(
  "ThreadDetail",
);

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
