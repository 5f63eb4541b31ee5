import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { requireCaller } from "../../platform/auth/middleware";
import { getDb } from "../../platform/db";
import { badRequest } from "../../platform/errors";
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
import { chatFieldErrors } from "./chat-field-errors";
import { CreateThreadInput, EditThreadInput } from "./inputs";
import { listThreadsFor } from "./lists";
import { listMembers, setObservedThread } from "./queries";
import { threadDetail } from "./read";
import { threadMessageRoutes } from "./routes-messages";
import { MemberView, PageQuery, ThreadDetail, ThreadParams } from "./routes-schemas";
import { threadUserRoutes } from "./routes-users";
import { chatSettings } from "./settings";
import { threadRoom } from "./thread-room";

const tags = ["threads"];
type Detail = z.infer<typeof ThreadDetail>;

const create = createRoute({
  method: "post",
  path: "/api/threads",
  tags,
  summary: "Create a thread with its members",
  description:
    "A client becomes a member with the creator's permissions and may grant others only what it holds; the admin token creates threads it is not a member of.",
  security: bearerSecurity,
  middleware: [requireCaller, idempotent] as const,
  request: { headers: IdempotencyHeaders, body: jsonBody(CreateThreadInput) },
  responses: {
    201: jsonResponse(ThreadDetail, "The caller's view of the new thread"),
    ...errorResponses(400, 401, 403, 409, 422),
  },
});

const list = createRoute({
  method: "get",
  path: "/api/threads",
  tags,
  summary: "List my threads (member views with unread counts), newest activity first",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { query: PageQuery.extend({ type: z.string().max(50).optional() }) },
  responses: {
    200: jsonResponse(listOf(MemberView), "One page; `next` is the next offset or null (no count)"),
    ...errorResponses(400, 401),
  },
});

const get = createRoute({
  method: "get",
  path: "/api/threads/{id}",
  tags,
  summary: "Get a thread (`thread_read`)",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { params: ThreadParams },
  responses: {
    200: jsonResponse(ThreadDetail, "The caller's view of the thread"),
    ...errorResponses(401, 403, 404),
  },
});

const edit = createRoute({
  method: "patch",
  path: "/api/threads/{id}",
  tags,
  summary: "Edit a thread: title and state (`thread_edit`), my own notifications",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { params: ThreadParams, body: jsonBody(EditThreadInput) },
  responses: {
    200: jsonResponse(ThreadDetail, "The caller's view of the thread"),
    ...errorResponses(400, 401, 403, 404),
  },
});

const remove = createRoute({
  method: "delete",
  path: "/api/threads/{id}",
  tags,
  summary: "Delete a thread and everything in it (`thread_delete`)",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { params: ThreadParams },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
});

const observe = createRoute({
  method: "post",
  path: "/api/threads/{id}/ws-subscribe",
  tags,
  summary: "Observe a thread over its WebSocket without being a member (`threads.observe`)",
  description:
    "One observed thread per user: a new subscription replaces the previous one (its observer sockets close). Observers receive a closed, read-only member view.",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { params: ThreadParams },
  responses: { 204: { description: "Subscribed" }, ...errorResponses(400, 401, 403, 404) },
});

/** `/api/threads*` (contract §7); writes go through the thread's room, reads straight to D1. */
export const threadRoutes = createRouter({ fieldErrors: chatFieldErrors })
  .openapi(create, async (c) => {
    const id = crypto.randomUUID();
    const room = threadRoom(c.env, id);
    const detail = unwrap(await room.createThread(id, c.var.caller, c.req.valid("json")));
    return c.json(detail as Detail, 201);
  })
  .openapi(list, async (c) => {
    const page = await listThreadsFor(
      getDb(c.env.DB),
      chatSettings(c.env),
      c.var.caller,
      c.req.valid("query"),
    );
    return c.json(page as { results: z.infer<typeof MemberView>[]; next: number | null }, 200);
  })
  .openapi(get, async (c) => {
    const { id } = c.req.valid("param");
    const db = getDb(c.env.DB);
    const settings = chatSettings(c.env);
    const access = await authorize(db, settings, id, c.var.caller, "getThread");
    const detail = await threadDetail(db, settings, access, await listMembers(db, id));
    return c.json(detail as Detail, 200);
  })
  .openapi(edit, async (c) => {
    const { id } = c.req.valid("param");
    const detail = unwrap(
      await threadRoom(c.env, id).editThread(id, c.var.caller, c.req.valid("json")),
    );
    return c.json(detail as Detail, 200);
  })
  .openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    unwrap(await threadRoom(c.env, id).deleteThread(id, c.var.caller));
    return c.body(null, 204);
  })
  .openapi(observe, async (c) => {
    const { id } = c.req.valid("param");
    const caller = c.var.caller;
    const db = getDb(c.env.DB);
    await authorize(db, chatSettings(c.env), id, caller, "wsSubscribe");
    if (caller.kind !== "user") {
      throw badRequest("Observing needs a client token; the admin token may connect directly");
    }
    const previous = await setObservedThread(db, caller.user.id, id);
    if (previous) await threadRoom(c.env, previous).dropObserver(previous, caller.user.id);
    return c.body(null, 204);
  })
  .route("/", threadUserRoutes)
  .route("/", threadMessageRoutes);
