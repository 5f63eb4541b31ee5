import { createRoute } from "@hono/zod-openapi";
import type { z } from "zod";
import { requireCaller } from "../../platform/auth/middleware";
import { getDb } from "../../platform/db";
import { notFound } from "../../platform/errors";
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
import { authorize, may } from "./access";
import { chatFieldErrors } from "./chat-field-errors";
import { MemberChangeInput, MemberInput } from "./inputs";
import { listUsersFor } from "./lists";
import { findMember } from "./queries";
import { PageQuery, ThreadParams, ThreadUser, UserParams } from "./routes-schemas";
import { chatSettings } from "./settings";
import { threadRoom } from "./thread-room";
import { userView } from "./views";

const tags = ["threads"];
type User = z.infer<typeof ThreadUser>;

const list = createRoute({
  method: "get",
  path: "/api/threads/{id}/users",
  tags,
  summary: "List the members of a thread (`thread_read`)",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { params: ThreadParams, query: PageQuery },
  responses: {
    200: jsonResponse(
      listOf(ThreadUser),
      "One page of members in the order they joined; `next` is the next offset or null",
    ),
    ...errorResponses(400, 401, 403, 404),
  },
});

const add = createRoute({
  method: "post",
  path: "/api/threads/{id}/users",
  tags,
  summary: "Add a member (`add_user`; nobody grants a permission it lacks)",
  description:
    "`roles` only with the admin token; scripted/assisted states and schema fields need `control_others`. `schema` and `question` (the original chat API's names) are aliases of `schema_id` and `question_id`.",
  security: bearerSecurity,
  middleware: [requireCaller, idempotent] as const,
  request: { headers: IdempotencyHeaders, params: ThreadParams, body: jsonBody(MemberInput) },
  responses: {
    201: jsonResponse(ThreadUser, "The new member"),
    ...errorResponses(400, 401, 403, 404, 409, 422),
  },
});

const get = createRoute({
  method: "get",
  path: "/api/threads/{id}/users/{user_id}",
  tags,
  summary: "Get a member (`thread_read`)",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { params: UserParams },
  responses: { 200: jsonResponse(ThreadUser, "The member"), ...errorResponses(401, 403, 404) },
});

const change = createRoute({
  method: "patch",
  path: "/api/threads/{id}/users/{user_id}",
  tags,
  summary: "Change a member (`control_others`; a member may always change its own notifications)",
  description:
    "`schema` and `question` (the original chat API's names) are aliases of `schema_id` and `question_id`; given both with different values, 400 `WRONG_VALUE` on the alias.",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { params: UserParams, body: jsonBody(MemberChangeInput) },
  responses: {
    200: jsonResponse(ThreadUser, "The member after the change"),
    ...errorResponses(400, 401, 403, 404),
  },
});

const remove = createRoute({
  method: "delete",
  path: "/api/threads/{id}/users/{user_id}",
  tags,
  summary: "Remove a member (`remove_user`, or a member leaving)",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { params: UserParams },
  responses: { 204: { description: "Removed" }, ...errorResponses(401, 403, 404) },
});

/** `/api/threads/:id/users*`. */
export const threadUserRoutes = createRouter({ fieldErrors: chatFieldErrors })
  .openapi(list, async (c) => {
    const { id } = c.req.valid("param");
    const db = getDb(c.env.DB);
    const settings = chatSettings(c.env);
    const access = await authorize(db, settings, id, c.var.caller, "listUsers");
    const page = await listUsersFor(db, settings, access, c.req.valid("query"));
    return c.json(page as { results: User[]; next: number | null }, 200);
  })
  .openapi(add, async (c) => {
    const { id } = c.req.valid("param");
    const user = unwrap(
      await threadRoom(c.env, id).addMember(id, c.var.caller, c.req.valid("json")),
    );
    return c.json(user as User, 201);
  })
  .openapi(get, async (c) => {
    const { id, user_id } = c.req.valid("param");
    const db = getDb(c.env.DB);
    const access = await authorize(db, chatSettings(c.env), id, c.var.caller, "getUser");
    const member = await findMember(db, id, user_id);
    if (!member) throw notFound("Member");
    return c.json(userView(member, may(access, "control_others")) as User, 200);
  })
  .openapi(change, async (c) => {
    const { id, user_id } = c.req.valid("param");
    const room = threadRoom(c.env, id);
    const user = unwrap(await room.changeMember(id, c.var.caller, user_id, c.req.valid("json")));
    return c.json(user as User, 200);
  })
  .openapi(remove, async (c) => {
    const { id, user_id } = c.req.valid("param");
    unwrap(await threadRoom(c.env, id).removeMember(id, c.var.caller, user_id));
    return c.body(null, 204);
  });
