import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { requireCaller } from "../../platform/auth/middleware";
import { getDb } from "../../platform/db";
import {
  bearerSecurity,
  createRouter,
  errorResponses,
  jsonBody,
  jsonResponse,
  listOf,
} from "../../platform/http/router";
import { IdempotencyHeaders, idempotent } from "../../platform/idempotency/middleware";
import { unwrap } from "../../realtime/rpc-result";
import { authorize } from "./access";
import { checkMessageSize } from "./bounds";
import { chatFieldErrors } from "./chat-field-errors";
import { EditMessageInput, PostMessageInput } from "./inputs";
import { listMessagesFor } from "./lists";
import {
  Message,
  MessageParams,
  MessageWithThread,
  PageQuery,
  ThreadParams,
} from "./routes-schemas";
import { chatSettings } from "./settings";
import { threadRoom } from "./thread-room";

const tags = ["threads"];
type WithThread = z.infer<typeof MessageWithThread>;

const list = createRoute({
  method: "get",
  path: "/api/threads/{id}/messages",
  tags,
  summary: "List messages newest first (`messages_read`); marks them read for me",
  description:
    "No count: `next` is the next offset or null. `?q=` keeps messages whose text contains every word (case-insensitive). Message filters apply (e.g. `secret` only for the admin role).",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: {
    params: ThreadParams,
    query: PageQuery.extend({ q: z.string().max(200).optional() }),
  },
  responses: {
    200: jsonResponse(listOf(Message), "One page of messages"),
    ...errorResponses(400, 401, 403, 404),
  },
});

const post = createRoute({
  method: "post",
  path: "/api/threads/{id}/messages",
  tags,
  summary: "Post a message (`messages_create`)",
  description:
    "Bounds: `text` at most 16 KiB, `meta` at most 8 KiB as JSON, at most 10 attachments of at most 8 KiB as JSON each (400 naming the field); the whole message at most 64 KiB as JSON, and its event within what the thread's stream takes (413). The text is stored HTML-escaped. A `closed` member gets 403 `THREAD_IS_CLOSED` unless it holds `reopen`, which reopens the thread. Errors name fields with the chat API's codes. Answers 204 when an automated-conversation hook stores nothing (a `control` question).\n\n" +
    "`Idempotency-Key`: see the header. A post cut off between storing its message and answering (a reset room) is answered with that message when retried with its key.",
  security: bearerSecurity,
  middleware: [requireCaller, idempotent] as const,
  request: {
    params: ThreadParams,
    headers: IdempotencyHeaders,
    body: jsonBody(PostMessageInput),
  },
  responses: {
    201: jsonResponse(MessageWithThread, "The message with my own view of the thread"),
    204: { description: "Accepted; nothing stored" },
    ...errorResponses(400, 401, 403, 404, 409, 413, 422),
  },
});

const edit = createRoute({
  method: "patch",
  path: "/api/threads/{id}/messages/{mid}",
  tags,
  summary: "Edit my message (`messages_edit`)",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { params: MessageParams, body: jsonBody(EditMessageInput) },
  responses: {
    200: jsonResponse(MessageWithThread, "The edited message"),
    ...errorResponses(400, 401, 403, 404, 413),
  },
});

const remove = createRoute({
  method: "delete",
  path: "/api/threads/{id}/messages/{mid}",
  tags,
  summary: "Delete my message (`messages_delete`); members get `{id, thread, deleted: true}`",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { params: MessageParams },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
});

/** `/api/threads/:id/messages*`. */
export const threadMessageRoutes = createRouter({ fieldErrors: chatFieldErrors })
  .openapi(list, async (c) => {
    const { id } = c.req.valid("param");
    const db = getDb(c.env.DB);
    const settings = chatSettings(c.env);
    const access = await authorize(db, settings, id, c.var.caller, "listMessages");
    const page = await listMessagesFor(c.env, db, settings, access, c.req.valid("query"));
    return c.json(page as { results: z.infer<typeof Message>[]; next: number | null }, 200);
  })
  .openapi(post, async (c) => {
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    checkMessageSize(input);
    const room = threadRoom(c.env, id);
    const keyed = c.var.idempotency ?? null;
    const message = unwrap(await room.postMessage(id, c.var.caller, input, keyed));
    if (!message) return c.body(null, 204);
    return c.json(message as WithThread, 201);
  })
  .openapi(edit, async (c) => {
    const { id, mid } = c.req.valid("param");
    const input = c.req.valid("json");
    checkMessageSize(input);
    const room = threadRoom(c.env, id);
    const message = unwrap(await room.editMessage(id, c.var.caller, mid, input));
    return c.json(message as WithThread, 200);
  })
  .openapi(remove, async (c) => {
    const { id, mid } = c.req.valid("param");
    unwrap(await threadRoom(c.env, id).deleteMessage(id, c.var.caller, mid));
    return c.body(null, 204);
  });
