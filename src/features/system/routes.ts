import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { createRouter, jsonResponse } from "../../platform/http/router";

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
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/vendor/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>`;

const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });`;

export const systemRoutes = createRouter()
  .openapi(health, (c) => c.json({ ok: true as const }, 200))
  .get("/docs", (c) => c.html(DOCS_HTML))
  .get("/docs/init.js", (c) => c.body(DOCS_INIT, 200, { "Content-Type": "text/javascript" }));
