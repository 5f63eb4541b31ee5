import { createRoute, z } from "@hono/zod-openapi";
import { requireAdmin } from "../auth/middleware";
import { mintClientToken } from "../auth/tokens";
import { bearerSecurity, createRouter, errorResponses, jsonBody, jsonResponse } from "./router";

const TokenRequest = z
  .object({
    user: z.object({
      id: z.string().min(1).max(200),
      name: z.string().min(1).max(200),
    }),
    permissions: z.array(z.string().min(1).max(200)).max(100).default([]),
    ttl_seconds: z.number().int().min(1).max(86400).default(3600),
    lang: z.string().min(2).max(16).optional(),
  })
  .openapi("TokenRequest");

const TokenResponse = z
  .object({ token: z.string(), expires_at: z.string().openapi({ format: "date-time" }) })
  .openapi("Token");

const mintToken = createRoute({
  method: "post",
  path: "/api/tokens",
  tags: ["identity"],
  summary: "Mint a signed client token (admin)",
  security: bearerSecurity,
  middleware: [requireAdmin] as const,
  request: { body: jsonBody(TokenRequest) },
  responses: {
    201: jsonResponse(TokenResponse, "The token and when it expires"),
    ...errorResponses(400, 401, 403),
  },
});

export const tokenRoutes = createRouter().openapi(mintToken, async (c) => {
  const body = c.req.valid("json");
  const { token, expiresAt } = await mintClientToken(c.env.TOKEN_SECRET, {
    user: body.user,
    permissions: body.permissions,
    ttlSeconds: body.ttl_seconds,
    lang: body.lang,
  });
  return c.json({ token, expires_at: expiresAt.toISOString() }, 201);
});
