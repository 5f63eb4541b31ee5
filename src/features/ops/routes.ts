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
import * as time from "../../platform/time";
import { webhookStats } from "../webhooks";
import { liveRoomPage, roomTotals } from "./queries";

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
    shards: z.number().int().openapi({ description: "1 until a room kind shards its sockets" }),
    last_event_at: z
      .string()
      .nullable()
      .openapi({ description: "The room's latest event, to the minute" }),
  })
  .openapi("LiveRoom");

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

/** The operators' read-only API (contract §9); the /console page reads it. */
export const opsRoutes = createRouter()
  .openapi(stats, async (c) => {
    const [totals, hooks] = await Promise.all([roomTotals(c.env.DB), webhookStats(c.env)]);
    return c.json({ ...totals, webhooks: hooks, generated_at: time.nowIso() }, 200);
  })
  .openapi(rooms, async (c) => {
    const { kind, limit, offset } = c.req.valid("query");
    return c.json(page(await liveRoomPage(c.env.DB, kind, limit, offset), limit, offset), 200);
  });
