import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { requirePermission } from "../../platform/auth/middleware";
import { PERMISSIONS } from "../../platform/auth/permissions";
import {
  bearerSecurity,
  createRouter,
  errorResponses,
  jsonResponse,
  listOf,
  PaginationQuery,
  page,
} from "../../platform/http/router";
import { recentErrorPage } from "./errors";
import { liveRoomPage } from "./queries";
import { consoleStats, consoleStream } from "./stream";

/** Room kinds are short names (`poker`, `threads`, `bus`, `persons`). */
const RoomKindName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, "must be a room kind such as poker")
  .openapi({ example: "poker" });

const Stats = z
  .object({
    rooms: z
      .record(z.string(), z.object({ active: z.number().int(), sockets: z.number().int() }))
      .openapi({ example: { poker: { active: 2, sockets: 14 } } }),
    bus: z
      .record(
        z.string(),
        z.object({ messages_24h: z.number().int(), subscribers: z.number().int() }),
      )
      .openapi({ example: { tryton: { messages_24h: 120, subscribers: 3 } } }),
    webhooks: z.object({
      hooks_active: z.number().int(),
      deliveries_pending: z.number().int(),
      deliveries_failed_24h: z.number().int(),
      success_rate_24h: z
        .number()
        .min(0)
        .max(1)
        .nullable()
        .openapi({ description: "Succeeded over finished attempts; null when none finished" }),
    }),
    generated_at: z.string().openapi({ example: "2026-12-07T15:00:00.000Z" }),
  })
  .openapi("Stats");

const LiveRoom = z
  .object({
    kind: z.string(),
    id: z.string(),
    sockets: z.number().int(),
    shards: z.number().int().openapi({
      description:
        "Objects holding the room's listeners: the room and its shards with any (contract §10)",
    }),
    last_event_at: z
      .string()
      .nullable()
      .openapi({ description: "The room's latest event, to the minute" }),
  })
  .openapi("LiveRoom");

const RecentError = z
  .object({
    id: z.number().int().openapi({ description: "Grows with each error" }),
    at: z.string().openapi({ example: "2026-12-07T15:00:00.000Z" }),
    request_id: z.string().nullable(),
    room: z.string().nullable().openapi({ example: "PokerRoom:s1" }),
    event: z.string().openapi({ example: "http.error" }),
    message: z.string().openapi({ description: "Redacted: never a body or a credential" }),
  })
  .openapi("RecentError");

/** The admin, or an API key or token holding `console.read` (the /console page's credential). */
const readConsole = requirePermission(PERMISSIONS.consoleRead);

const stats = createRoute({
  method: "get",
  path: "/api/stats",
  tags: ["operations"],
  summary: "Rooms, bus namespaces and webhook health (admin or console.read)",
  description:
    "Read from what rooms report (in batches, at most every 2 s while their count changes), so socket counts lag by at most 10 s and no hibernated room is woken. `bus.<db>.messages_24h` is as of the namespace's last report.",
  security: bearerSecurity,
  middleware: [readConsole] as const,
  responses: { 200: jsonResponse(Stats, "The figures"), ...errorResponses(401, 403) },
});

const rooms = createRoute({
  method: "get",
  path: "/api/rooms",
  tags: ["operations"],
  summary: "Live rooms: those with at least one socket, busiest first (admin or console.read)",
  security: bearerSecurity,
  middleware: [readConsole] as const,
  request: { query: PaginationQuery.extend({ kind: RoomKindName.optional() }) },
  responses: {
    200: jsonResponse(listOf(LiveRoom), "One page of live rooms"),
    ...errorResponses(400, 401, 403),
  },
});

const errors = createRoute({
  method: "get",
  path: "/api/errors",
  tags: ["operations"],
  summary: "The newest server errors, newest first; the last 200 are kept (admin or console.read)",
  security: bearerSecurity,
  middleware: [readConsole] as const,
  request: { query: PaginationQuery },
  responses: {
    200: jsonResponse(listOf(RecentError), "One page of errors"),
    ...errorResponses(400, 401, 403),
  },
});

const stream = createRoute({
  method: "get",
  path: "/api/console/stream",
  tags: ["operations"],
  summary: "Server-sent events for the console (admin or console.read)",
  description:
    "`event: stats` (as `GET /api/stats`) and `event: rooms` (the first page of `GET /api/rooms`) every 5 s; `event: errors` (a page of `GET /api/errors`) when new errors were stored. EventSource passes the credential as `?token=`. The stream ends after 10 minutes and EventSource reconnects.",
  security: bearerSecurity,
  middleware: [readConsole] as const,
  request: { query: z.object({ token: z.string().optional() }) },
  responses: {
    200: {
      description: "text/event-stream",
      content: { "text/event-stream": { schema: z.string() } },
    },
    ...errorResponses(401, 403),
  },
});

/** The operators' read-only API (contract §9); the /console page reads it. */
export const opsRoutes = createRouter()
  .openapi(stats, async (c) => {
    return c.json(await consoleStats(c.env), 200);
  })
  .openapi(rooms, async (c) => {
    const { kind, limit, offset } = c.req.valid("query");
    return c.json(page(await liveRoomPage(c.env.DB, kind, limit, offset), limit, offset), 200);
  })
  .openapi(errors, async (c) => {
    const { limit, offset } = c.req.valid("query");
    return c.json(page(await recentErrorPage(c.env.DB, limit, offset), limit, offset), 200);
  })
  .openapi(stream, (c) => {
    const headers = { "Content-Type": "text/event-stream", "Cache-Control": "no-store" };
    return new Response(consoleStream(c.env), { headers }) as never;
  });
