import { unauthorized } from "../errors";
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

/** Resolves a credential; a present but invalid or expired one is a 401, never anonymous. */
export async function resolveCredential(env: Env, credential: string | null): Promise<Caller> {
  if (!credential) return ANONYMOUS;
  if (env.ADMIN_TOKEN && safeEqual(credential, env.ADMIN_TOKEN)) return { kind: "admin" };
  const claims = await verifyClientToken(env.TOKEN_SECRET, credential);
  if (!claims) throw unauthorized("The token is invalid or expired");
  return { kind: "user", user: claims.user, permissions: claims.permissions, lang: claims.lang };
}

/** WebSocket upgrades and EventSource cannot set headers, so they may pass `?token=`. */
export function acceptsQueryToken(request: Request): boolean {
  return (
    request.headers.get("Upgrade")?.toLowerCase() === "websocket" ||
    (request.headers.get("Accept") ?? "").includes("text/event-stream")
  );
}

export async function resolveCaller(request: Request, env: Env): Promise<Caller> {
  return resolveCredential(env, credentialOf(request, acceptsQueryToken(request)));
}
