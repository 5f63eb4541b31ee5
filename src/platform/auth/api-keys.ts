import { encodeBase64Url } from "hono/utils/encode";
import { getDb } from "../db";
import * as time from "../time";
import {
  type ApiKeyRow,
  findLiveKeyByHash,
  selectLiveKeyIds,
  touchApiKey,
} from "./api-keys-queries";

/** Every API key starts with this, so a credential is told apart from a token without a lookup. */
export const API_KEY_PREFIX = "sbk_";

/** `sbk_` and 32 random bytes in base64url (43 characters, no padding). */
const API_KEY_PATTERN = /^sbk_[A-Za-z0-9_-]{43}$/;

/** `last_used_at` is written at most once per this interval per key, not on every request. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * How long an isolate trusts that the key behind a minted token is live before asking D1 again:
 * revoking a key ends its tokens on HTTP within this bound (the key itself is checked on every use).
 */
export const KEY_LIVENESS_CACHE_MS = 30_000;

export function isApiKeyCredential(credential: string): boolean {
  return credential.startsWith(API_KEY_PREFIX);
}

export function generateApiKey(): string {
  const random = encodeBase64Url(crypto.getRandomValues(new Uint8Array(32)).buffer);
  // hono keeps base64's `=` padding; a key is a URL query value (`?token=`), so drop it.
  return API_KEY_PREFIX + random.replace(/=+$/, "");
}

/**
 * Hex SHA-256 of the key. A fast unsalted hash is right here, unlike for passwords: the key is
 * 256 random bits, so neither a dictionary nor brute force over the hash can find it, and the
 * lookup by hash stays one indexed read.
 */
export async function hashApiKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The live key row for a presented key, or null (malformed, unknown, revoked or expired alike).
 * Read from D1 on every use, so a revocation or an expiry takes effect at once. Records the use
 * when the stored `last_used_at` is older than `LAST_USED_RESOLUTION_MS`.
 */
export async function resolveApiKey(env: Env, key: string): Promise<ApiKeyRow | null> {
  if (!API_KEY_PATTERN.test(key)) return null;
  const db = getDb(env.DB);
  const now = time.now();
  const row = await findLiveKeyByHash(db, await hashApiKey(key), now);
  if (!row) return null;
  const since = now - LAST_USED_RESOLUTION_MS;
  if (row.lastUsedAt === null || row.lastUsedAt < since) {
    await touchApiKey(db, row.id, now, since);
    row.lastUsedAt = now;
  }
  return row;
}

/** Which key ids were found live, and until when this isolate believes it. */
const liveness = new Map<string, { live: boolean; until: number }>();

/** Whether the key behind a minted token is still live, cached up to `KEY_LIVENESS_CACHE_MS`. */
export async function keyIsLive(env: Env, keyId: string): Promise<boolean> {
  const now = time.now();
  const cached = liveness.get(keyId);
  if (cached && cached.until > now) return cached.live;
  const live = (await liveKeyIds(env, [keyId])).has(keyId);
  liveness.set(keyId, { live, until: now + KEY_LIVENESS_CACHE_MS });
  return live;
}

/** A key revoked through this isolate ends its tokens here at once, not after the cache bound. */
export function forgetKeyLiveness(keyId: string): void {
  liveness.delete(keyId);
}

/**
 * Which of these API key ids are still live (exist, not revoked, not expired), in one D1 query.
 * Rooms call it periodically for the sockets whose credential carries a key id.
 */
export async function liveKeyIds(env: Env, ids: string[]): Promise<Set<string>> {
  const unique = [...new Set(ids)];
  return new Set(await selectLiveKeyIds(getDb(env.DB), unique, time.now()));
}
