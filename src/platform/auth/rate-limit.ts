import { ApiError } from "../errors";
import type { Caller } from "./caller";

/** The window of both limiters in wrangler.toml (`simple.period`); what `Retry-After` tells. */
export const RATE_LIMIT_PERIOD_SECONDS = 10;

/**
 * Counts one HTTP call against the caller's rate limit: a client token against its user, an
 * anonymous call against its address (`CF-Connecting-IP`), in Cloudflare's Rate Limiting
 * binding so the count holds across isolates. The admin token is the app's own backend and is
 * not limited; nor is an anonymous call without an address, which Cloudflare's edge always sets
 * (it comes from inside: a service binding, a test). Over the limit it throws 429
 * `rate_limited` with `Retry-After`; the next window accepts calls again.
 */
export async function enforceRateLimit(env: Env, request: Request, caller: Caller): Promise<void> {
  if (caller.kind === "admin") return;
  let verdict: RateLimitOutcome;
  if (caller.kind === "user") {
    verdict = await env.CLIENT_RATE_LIMIT.limit({ key: `user:${caller.user.id}` });
  } else {
    const address = request.headers.get("CF-Connecting-IP");
    if (!address) return;
    verdict = await env.ANONYMOUS_RATE_LIMIT.limit({ key: `ip:${address}` });
  }
  if (verdict.success) return;
  throw new ApiError(
    "rate_limited",
    "Too many requests; slow down",
    { retry_after_seconds: RATE_LIMIT_PERIOD_SECONDS },
    { "Retry-After": String(RATE_LIMIT_PERIOD_SECONDS) },
  );
}
