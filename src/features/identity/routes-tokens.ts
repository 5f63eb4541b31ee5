import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { Caller } from "../../platform/auth/caller";
import { requireCaller } from "../../platform/auth/middleware";
import { mintClientToken } from "../../platform/auth/tokens";
import { UserId, UserName } from "../../platform/auth/user-id";
import { badRequest, forbidden } from "../../platform/errors";
import {
  bearerSecurity,
  createRouter,
  errorResponses,
  jsonBody,
  jsonResponse,
} from "../../platform/http/router";
import { IdempotencyHeaders, idempotent } from "../../platform/idempotency/middleware";

const TokenRequest = z
  .object({
    user: z
      .object({ id: UserId, name: UserName })
      .optional()
      .openapi({ description: "Required with the admin token; with an API key, its own user." }),
    permissions: z
      .array(z.string().min(1).max(200))
      .max(100)
      .optional()
      .openapi({ description: "Default: none with the admin token, the key's with an API key." }),
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
  summary: "Mint a signed client token (admin, or an API key for its own user)",
  description:
    "With an API key: `user` omitted or the key's own user id (another → 403; the token carries the key's user name), `permissions` a subset of the key's (default: all of them; one it lacks → 403), and the token never outlives the key and dies with it when the key is revoked. Client tokens cannot mint tokens (403).",
  security: bearerSecurity,
  middleware: [requireCaller, idempotent] as const,
  request: { headers: IdempotencyHeaders, body: jsonBody(TokenRequest) },
  responses: {
    201: jsonResponse(TokenResponse, "The token and when it expires"),
    ...errorResponses(400, 401, 403, 409, 422),
  },
});

type TokenBody = z.infer<typeof TokenRequest>;

/** Who the token is for and what it holds, as the caller may grant it; throws 400 or 403. */
function grantFor(caller: Caller, body: TokenBody) {
  if (caller.kind === "admin") {
    if (!body.user) throw badRequest("Validation failed", { user: ["Required"] });
    return { user: body.user, permissions: body.permissions ?? [] };
  }
  if (caller.kind !== "user" || !caller.isApiKey || !caller.keyId) {
    throw forbidden("Only the admin token or an API key may mint tokens");
  }
  if (body.user && body.user.id !== caller.user.id) {
    throw forbidden("An API key mints tokens for its own user only");
  }
  const permissions = body.permissions ?? caller.permissions;
  const lacking = permissions.filter((p) => !caller.permissions.includes(p));
  if (lacking.length > 0) {
    throw forbidden("The API key lacks permissions the token asks for", { permissions: lacking });
  }
  return {
    user: caller.user,
    permissions,
    key: { id: caller.keyId, notAfter: caller.expiresAt ?? null },
  };
}

export const tokenRoutes = createRouter().openapi(mintToken, async (c) => {
  const body = c.req.valid("json");
  const grant = grantFor(c.var.caller, body);
  const { token, expiresAt } = await mintClientToken(c.env.TOKEN_SECRET, {
    ...grant,
    ttlSeconds: body.ttl_seconds,
    lang: body.lang,
  });
  return c.json({ token, expires_at: expiresAt.toISOString() }, 201);
});
