import { ApiError } from "../errors";
import type { Caller } from "./caller";

/** The window of both limiters in wrangler.toml (`simple.period`); what `Retry-After` tells. */
export const RATE_LIMIT_PERIOD_SECONDS = 10;

/** The client's address as Cloudflare's edge reports it; one shared key where it is absent. */
function clientAddress(request: Request): string {
  return request.headers.get("CF-Connecting-IP") ?? "unknown";
}

/**
 * Counts one HTTP call against the caller's rate limit: a client token against its user, an
 * anonymous call against its address, in Cloudflare's Rate Limiting binding so the count holds
 * across isolates. The admin token is the app's own backend and is not limited. Over the limit
 * it throws 429 `rate_limited` with `Retry-After`; the next window accepts calls again.
 */
export async function enforceRateLimit(env: Env, request: Request, caller: Caller): Promise<void> {
  if (caller.kind === "admin") return;
  const { success } =
    caller.kind === "user"
      ? await env.CLIENT_RATE_LIMIT.limit({ key: `user:${caller.user.id}` })
      : await env.ANONYMOUS_RATE_LIMIT.limit({ key: `ip:${clientAddress(request)}` });
  if (success) return;
  throw new ApiError(
    "rate_limited",
    "Too many requests; slow down",
    { retry_after_seconds: RATE_LIMIT_PERIOD_SECONDS },
    { "Retry-After": String(RATE_LIMIT_PERIOD_SECONDS) },
  );
}
