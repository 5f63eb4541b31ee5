import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { requireCaller } from "../platform/auth/middleware";
import { notFound } from "../platform/errors";
import {
  bearerSecurity,
  createRouter,
  errorResponses,
  jsonResponse,
  listOf,
  PaginationQuery,
  page,
} from "../platform/http/router";
import type { BaseRoom } from "./base-room";
import type { RoomKinds } from "./room-kind";

const PresentUser = z
  .object({
    user_id: z.string().openapi({ description: "`admin` for the admin token" }),
    name: z.string(),
    connections: z
      .number()
      .int()
      .openapi({ description: "Open sockets of this user in the room; 0 while in its grace" }),
    grace_until: z.string().nullable().openapi({
      description: "When a user whose last socket closed stops being present; null while connected",
    }),
  })
  .openapi("PresentUser");

const Roster = listOf(PresentUser)
  .extend({
    count: z.number().int().openapi({ description: "Present users, each counted once" }),
  })
  .openapi("PresenceRoster");

const roster = createRoute({
  method: "get",
  path: "/api/rooms/{kind}/{id}/presence",
  tags: ["operations"],
  summary: "Who is present in a room, with their connection counts",
  description:
    "For the admin, and for every caller the room kind admits (as for its WebSocket: any token in a poker session). Users are sorted by name; several sockets of one user count once; a user whose last socket closed stays for the room's grace (poker: `POKER_LEAVE_GRACE_SECONDS`). Room kinds without presence → 404.",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: {
    params: z.object({
      kind: z.string().max(32).openapi({ example: "poker" }),
      id: z.string().min(1).max(200),
    }),
    query: PaginationQuery,
  },
  responses: {
    200: jsonResponse(Roster, "One page of present users"),
    ...errorResponses(400, 401, 403, 404, 410),
  },
});

/** The roster of a room that tracks presence: whoever may enter the room may see who is in it. */
export function presenceRoutes(kinds: RoomKinds) {
  return createRouter().openapi(roster, async (c) => {
    const { kind: kindName, id } = c.req.valid("param");
    const { limit, offset } = c.req.valid("query");
    const kind = Object.hasOwn(kinds, kindName) ? kinds[kindName] : undefined;
    if (!kind?.tracksPresence) throw notFound(`Presence of room kind '${kindName}'`);
    await kind.admit(c.env, id, c.var.caller, c.req.raw);
    const room = kind.stub(c.env, id) as unknown as DurableObjectStub<BaseRoom>;
    const found = await room.presenceRoster(limit + 1, offset);
    if (!found) throw notFound(`Presence of room kind '${kindName}'`);
    const users = found.users.map((u) => ({
      user_id: u.id,
      name: u.name,
      connections: u.connections,
      grace_until: u.graceUntil === null ? null : new Date(u.graceUntil).toISOString(),
    }));
    return c.json({ ...page(users, limit, offset), count: found.total }, 200);
  });
}
