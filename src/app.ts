import { cors } from "hono/cors";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId } from "hono/request-id";
import { busRoutes } from "./features/bus/routes";
import { schemaRoutes } from "./features/chat-schemas/routes";
import { keyRoutes } from "./features/identity/routes-keys";
import { tokenRoutes } from "./features/identity/routes-tokens";
import { opsRoutes } from "./features/ops/routes";
import { pokerRoutes } from "./features/poker/routes";
import { personRoutes } from "./features/state/routes";
import { surveyRoutes } from "./features/surveys/routes";
import { systemRoutes } from "./features/system/routes";
import { threadRoutes } from "./features/threads/routes";
import { webhookRoutes } from "./features/webhooks/routes";
import { resolveCallerMiddleware } from "./platform/auth/middleware";
import { ApiError, toApiError } from "./platform/errors";
import { limitBody, securityHeaders } from "./platform/http/edge-middleware";
import { createRouter } from "./platform/http/router";
import { logger } from "./platform/log";
import { recordError } from "./platform/recent-errors/record";
import { presenceRoutes } from "./realtime/presence-routes";
import type { RoomKinds } from "./realtime/room-kind";
import { wsRoutes } from "./realtime/ws-routes";

/** The Hono root: middleware, one mount per area, the OpenAPI document, errors in one place. */
export function createApp(kinds: RoomKinds) {
  const app = createRouter();

  app.use("*", requestId());
  app.use("*", securityHeaders);
  // Token auth (no cookies), so any origin may call; browsers' Tryton-style bus clients included.
  app.use(
    "*",
    cors({
      origin: "*",
      allowHeaders: ["Authorization", "Content-Type", "Last-Event-ID", "Idempotency-Key"],
      exposeHeaders: ["Idempotent-Replayed"],
      maxAge: 600,
    }),
  );
  // Before the caller is resolved: an oversized body is refused before anything else is done.
  app.use("*", limitBody);
  app.use("*", resolveCallerMiddleware);
  // A known path with another method is a 405; it reads `app.routes` lazily, so it sees every mount.
  app.use(
    "*",
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        c.json(
          new ApiError("method_not_allowed", `Method ${c.req.method} is not allowed here`, {
            allow: methods,
          }).toBody(),
          405,
          { Allow: methods.join(", ") },
        ),
    }),
  );

  app
    .route("/", systemRoutes)
    .route("/", tokenRoutes)
    .route("/", keyRoutes)
    .route("/", wsRoutes(kinds))
    .route("/", presenceRoutes(kinds))
    .route("/", pokerRoutes)
    .route("/", personRoutes)
    .route("/", webhookRoutes)
    .route("/", threadRoutes)
    .route("/", schemaRoutes)
    .route("/", surveyRoutes)
    .route("/", busRoutes)
    .route("/", opsRoutes);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description:
      "The admin token, a client token from POST /api/tokens, or an API key `sbk_…` from POST /api/keys (`Token <t>` works too).",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Switchboard",
      version: "0.1.0",
      description:
        "Realtime rooms at the edge: poker, threads, bus, state subscriptions, webhooks. Request bodies over 1 MiB are refused with 413 `payload_too_large` before they are parsed.",
    },
  });

  app.notFound((c) =>
    c.json(new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}`).toBody(), 404),
  );

  app.onError((err, c) => {
    const api = toApiError(err);
    if (api.code === "internal") {
      const entry = {
        message: `Unhandled error in ${c.req.method} ${c.req.path}`,
        event: "http.error",
        request_id: c.var.requestId,
        error: err,
      };
      logger.error(entry.message, entry);
      recordError(c.env, entry, (write) => {
        // Hono throws when the app was called without an ExecutionContext; the write still runs.
        try {
          c.executionCtx.waitUntil(write);
        } catch {}
      });
    }
    return c.json(api.toBody(), api.status, api.headers);
  });

  return app;
}

export type App = ReturnType<typeof createApp>;
