import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { requireCaller } from "../platform/auth/middleware";
import { badRequest, notFound } from "../platform/errors";
import { createRouter, errorResponses } from "../platform/http/router";
import { forwardToRoom } from "./forward";
import type { RoomKinds } from "./room-kind";

const connect = createRoute({
  method: "get",
  path: "/ws/{kind}/{id}",
  tags: ["websocket"],
  summary: "Open a room's WebSocket (contract §2)",
  description:
    "Send `Upgrade: websocket` and the token as `?token=`. `?since=<seq>` replays the room's ordered events after `seq` (or sends `resync`).",
  middleware: [requireCaller] as const,
  request: {
    params: z.object({
      kind: z.string().openapi({ example: "poker" }),
      id: z.string().min(1).max(200),
    }),
    query: z.object({
      token: z.string().optional(),
      since: z.coerce.number().int().min(0).optional(),
    }),
  },
  responses: {
    101: { description: "Switching protocols" },
    ...errorResponses(400, 401, 403, 404, 410),
  },
});

/** The one entry for every room's WebSocket: authenticate, admit, then hand over to the room. */
export function wsRoutes(kinds: RoomKinds) {
  return createRouter().openapi(connect, async (c) => {
    const { kind: kindName, id } = c.req.valid("param");
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
      throw badRequest("Expected a WebSocket upgrade (Upgrade: websocket)");
    }
    const kind = Object.hasOwn(kinds, kindName) ? kinds[kindName] : undefined;
    if (!kind) throw notFound(`Room kind '${kindName}'`);
    const admission = await kind.admit(c.env, id, c.var.caller, c.req.raw);
    // A room may still refuse (e.g. it ended meanwhile); its answer is already in the error shape.
    return (await forwardToRoom(
      kind.stub(c.env, id),
      c.req.raw,
      id,
      c.var.caller,
      admission,
      kindName,
    )) as never;
  });
}
