import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { createRouter, jsonResponse } from "../../platform/http/router";
import { asyncApiDocument } from "./asyncapi";
import { DOCS_CSS, docsNav, renderAsyncApiPage } from "./asyncapi-view";

const health = createRoute({
  method: "get",
  path: "/health",
  tags: ["system"],
  summary: "Liveness",
  responses: { 200: jsonResponse(z.object({ ok: z.literal(true) }), "The service is up") },
});

/** Swagger UI, served from our own assets (vendored by `scripts/vendor-docs.mjs`): no CDN needed. */
const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Switchboard API</title>
  <link rel="stylesheet" href="/vendor/swagger-ui/swagger-ui.css">
  <link rel="stylesheet" href="/docs/docs.css">
</head>
<body>
  ${docsNav("openapi")}
  <div id="swagger-ui"></div>
  <script src="/vendor/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>`;

const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });`;

/**
 * The documents and their viewers: served beside the API, not part of the OpenAPI document
 * they describe.
 */
export const DOCS_PATHS = [
  "/openapi.json",
  "/asyncapi.json",
  "/docs",
  "/docs/init.js",
  "/docs/docs.css",
  "/docs/asyncapi",
] as const;

export const systemRoutes = createRouter()
  .openapi(health, (c) => c.json({ ok: true as const }, 200))
  .get("/asyncapi.json", (c) => c.json(asyncApiDocument(new URL(c.req.url))))
  .get("/docs", (c) => c.html(DOCS_HTML))
  .get("/docs/asyncapi", (c) => c.html(renderAsyncApiPage(asyncApiDocument(new URL(c.req.url)))))
  .get("/docs/init.js", (c) => c.body(DOCS_INIT, 200, { "Content-Type": "text/javascript" }))
  .get("/docs/docs.css", (c) => c.body(DOCS_CSS, 200, { "Content-Type": "text/css" }));
