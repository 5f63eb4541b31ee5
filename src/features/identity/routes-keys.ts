import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { forgetKeyLiveness, generateApiKey, hashApiKey } from "../../platform/auth/api-keys";
import {
  type ApiKeyRow,
  insertApiKey,
  listApiKeys,
  revokeApiKey,
} from "../../platform/auth/api-keys-queries";
import { requireAdmin } from "../../platform/auth/middleware";
import { UserId, UserName } from "../../platform/auth/user-id";
import { getDb } from "../../platform/db";
import { notFound } from "../../platform/errors";
import {
  bearerSecurity,
  createRouter,
  errorResponses,
  jsonBody,
  jsonResponse,
  listOf,
  PaginationQuery,
  page,
} from "../../platform/http/router";
import { IdempotencyHeaders, idempotent } from "../../platform/idempotency/middleware";
import * as time from "../../platform/time";
import { CLOSE_CODES } from "../../protocol/close-codes";

const admin = { tags: ["identity"], security: bearerSecurity, middleware: requireAdmin };

const DAY_MS = 86_400_000;

const KeyUser = z.object({ id: UserId, name: UserName });
const Permissions = z.array(z.string().min(1).max(200)).max(100);
const Timestamp = z.string().openapi({ format: "date-time" });

const CreateKeyBody = z
  .object({
    name: z.string().trim().min(1).max(200).openapi({ example: "Team Blue organiser" }),
    user: KeyUser,
    permissions: Permissions.default([]),
    expires_in_days: z
      .number()
      .int()
      .min(1)
      .max(3650)
      .optional()
      .openapi({ description: "Omitted: the key never expires (revoke it to end it)." }),
  })
  .openapi("ApiKeyRequest");

const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    user: KeyUser,
    permissions: z.array(z.string()),
    created_at: Timestamp,
    expires_at: Timestamp.nullable(),
    last_used_at: Timestamp.nullable(),
    revoked_at: Timestamp.nullable(),
  })
  .openapi("ApiKey");

const CreatedKey = z
  .object({
    id: z.string(),
    key: z.string().openapi({ description: "`sbk_…`: shown in this answer only, stored hashed." }),
    name: z.string(),
    user: KeyUser,
    permissions: z.array(z.string()),
    expires_at: Timestamp.nullable(),
  })
  .openapi("CreatedApiKey");

const IdParams = z.object({ id: z.string().min(1).max(100) });

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function toApiKey(row: ApiKeyRow): z.infer<typeof ApiKey> {
  return {
    id: row.id,
    name: row.name,
    user: { id: row.userId, name: row.userName },
    permissions: row.permissions,
    created_at: new Date(row.createdAt).toISOString(),
    expires_at: iso(row.expiresAt),
    last_used_at: iso(row.lastUsedAt),
    revoked_at: iso(row.revokedAt),
  };
}

const createKey = createRoute({
  ...admin,
  method: "post",
  path: "/api/keys",
  middleware: [requireAdmin, idempotent] as const,
  summary: "Create an API key (admin)",
  description:
    "A long-lived, revocable credential of one user, used like a client token (`Authorization: Bearer sbk_…`, `?token=` on WebSocket upgrades and SSE). It may also mint short client tokens for its own user with at most its own permissions (`POST /api/tokens`). The key is in this answer only; the server keeps its SHA-256.",
  request: { headers: IdempotencyHeaders, body: jsonBody(CreateKeyBody) },
  responses: {
    201: jsonResponse(CreatedKey, "The key, shown this once"),
    ...errorResponses(400, 401, 403, 409, 422),
  },
});

const listKeys = createRoute({
  ...admin,
  method: "get",
  path: "/api/keys",
  summary: "List API keys, newest first (admin); never the keys themselves",
  request: { query: PaginationQuery },
  responses: {
    200: jsonResponse(listOf(ApiKey), "A page of keys, revoked ones included"),
    ...errorResponses(400, 401, 403),
  },
});

const revokeKey = createRoute({
  ...admin,
  method: "delete",
  path: "/api/keys/{id}",
  summary: "Revoke an API key (admin)",
  description: `The key and every token it minted answer 401 from now on (tokens within 30 s on every isolate), and its open sockets are closed with ${CLOSE_CODES.credentialExpired.code} within 60 s. The key stays listed with \`revoked_at\`.`,
  request: { params: IdParams },
  responses: { 204: { description: "Revoked" }, ...errorResponses(401, 403, 404) },
});

export const keyRoutes = createRouter()
  .openapi(createKey, async (c) => {
    const body = c.req.valid("json");
    const key = generateApiKey();
    const now = time.now();
    const row: ApiKeyRow = {
      id: crypto.randomUUID(),
      name: body.name,
      userId: body.user.id,
      userName: body.user.name,
      permissions: body.permissions,
      keyHash: await hashApiKey(key),
      createdAt: now,
      expiresAt: body.expires_in_days === undefined ? null : now + body.expires_in_days * DAY_MS,
      lastUsedAt: null,
      revokedAt: null,
    };
    await insertApiKey(getDb(c.env.DB), row);
    const { created_at, last_used_at, revoked_at, ...shown } = toApiKey(row);
    return c.json({ ...shown, key }, 201);
  })
  .openapi(listKeys, async (c) => {
    const { limit, offset } = c.req.valid("query");
    const rows = await listApiKeys(getDb(c.env.DB), limit + 1, offset);
    return c.json(page(rows.map(toApiKey), limit, offset), 200);
  })
  .openapi(revokeKey, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await revokeApiKey(getDb(c.env.DB), id, time.now()))) throw notFound("API key");
    forgetKeyLiveness(id);
    return c.body(null, 204);
  });
