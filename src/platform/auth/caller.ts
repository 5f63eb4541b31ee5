import { unauthorized } from "../errors";
import { isApiKeyCredential, keyIsLive, resolveApiKey } from "./api-keys";
import { type TokenUser, verifyClientToken } from "./tokens";

/** Who is calling: resolved once per request by the auth middleware or the socket router. */
export type Caller =
  | { kind: "admin" }
  | {
      kind: "user";
      user: TokenUser;
      permissions: string[];
      lang?: string;
      /** When the credential stops being valid (epoch ms); sockets close 4401 by then. */
      expiresAt?: number;
      /** The API key this credential is, or was minted from: revoking it ends the credential. */
      keyId?: string;
      /** The credential is the API key itself, not a token: only a key may mint tokens. */
      isApiKey?: true;
    }
  | { kind: "anonymous" };

export const ANONYMOUS: Caller = { kind: "anonymous" };

const encoder = new TextEncoder();

/** Constant-time comparison, so the admin token cannot be guessed byte by byte. */
function safeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  if (left.byteLength !== right.byteLength) {
    crypto.subtle.timingSafeEqual(left, left);
    return false;
  }
  return crypto.subtle.timingSafeEqual(left, right);
}

/** The credential from `Authorization: Bearer|Token <t>`, or from `?token=` where allowed. */
export function credentialOf(request: Request, allowQueryToken: boolean): string | null {
  const header = request.headers.get("Authorization");
  if (header) {
    const match = /^(Bearer|Token)\s+(\S+)$/i.exec(header.trim());
    if (!match) throw unauthorized("Authorization must be 'Bearer <token>' or 'Token <token>'");
    return match[2] ?? null;
  }
  if (allowQueryToken) return new URL(request.url).searchParams.get("token");
  return null;
}

/**
 * Resolves a credential; a present but invalid, expired or revoked one is a 401, never anonymous.
 * An API key is looked up on every use; a token minted from one is refused once its key is no
 * longer live (checked at most every `KEY_LIVENESS_CACHE_MS` per isolate).
 */
export async function resolveCredential(env: Env, credential: string | null): Promise<Caller> {
  if (!credential) return ANONYMOUS;
  if (env.ADMIN_TOKEN && safeEqual(credential, env.ADMIN_TOKEN)) return { kind: "admin" };
  if (isApiKeyCredential(credential)) {
    const key = await resolveApiKey(env, credential);
    if (!key) throw unauthorized("The API key is invalid, revoked or expired");
    return {
      kind: "user",
      user: { id: key.userId, name: key.userName },
      permissions: key.permissions,
      keyId: key.id,
      isApiKey: true,
      ...(key.expiresAt === null ? {} : { expiresAt: key.expiresAt }),
    };
  }
  const claims = await verifyClientToken(env, credential);
  if (!claims) throw unauthorized("The token is invalid or expired");
  if (claims.keyId && !(await keyIsLive(env, claims.keyId))) {
    throw unauthorized("The API key that minted this token is revoked or expired");
  }
  return {
    kind: "user",
    user: claims.user,
    permissions: claims.permissions,
    lang: claims.lang,
    expiresAt: claims.expiresAt.getTime(),
    ...(claims.keyId ? { keyId: claims.keyId } : {}),
  };
}

/**
 * The SSE routes (`GET /:db/bus/stream`, `GET /api/console/stream`): EventSource cannot set headers.
 * Keep in step with the routes that answer `text/event-stream`.
 */
const SSE_PATHS = [/^\/[A-Za-z0-9_-]{1,64}\/bus\/stream$/, /^\/api\/console\/stream$/];

/**
 * Only WebSocket upgrades of `/ws/…` and the SSE routes may pass `?token=`, since browsers cannot
 * set headers there. Anywhere else a token in the URL (kept in logs and histories) is ignored.
 */
export function acceptsQueryToken(request: Request): boolean {
  if (request.method !== "GET") return false;
  const path = new URL(request.url).pathname;
  if (request.headers.get("Upgrade")?.toLowerCase() === "websocket") return path.startsWith("/ws/");
  return SSE_PATHS.some((pattern) => pattern.test(path));
}

export async function resolveCaller(request: Request, env: Env): Promise<Caller> {
  return resolveCredential(env, credentialOf(request, acceptsQueryToken(request)));
}
