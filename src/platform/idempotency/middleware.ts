// Adds .openapi() to zod's schemas (extendZodWithOpenApi) before this module runs.
import * as time from "../time";
import "@hono/zod-openapi";
import canonicalize from "canonicalize";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import type { Caller } from "../auth/caller";
import { getDb } from "../db";
import { ApiError } from "../errors";
import { logger } from "../log";
import { claimKey, releaseKey, storeAnswer } from "./queries";
import { KEY_RETENTION_MS } from "./retention";
import { fingerprintOf, keyMaterial, openBody, sealBody } from "./seal";

export const IDEMPOTENCY_HEADER = "idempotency-key";
/** Marks an answer given again from the stored one, as Stripe does. */
export const REPLAYED_HEADER = "Idempotent-Replayed";

/** A run that stopped answering this long ago (its Worker died) no longer holds its key. */
export const STALE_LOCK_MS = 60_000;
/** A request whose key another run holds waits this many polls for that run's answer, then 409. */
const WAIT_POLLS = 100;
const POLL_MS = 100;

/**
 * The one definition of the header, documented on every creating POST. 1–255 visible ASCII
 * characters bare (as Stripe and Svix send it), or the IETF draft's quoted structured-field
 * string (`"k"` is the key `k`); a bare key cannot start with `"`.
 */
export const IdempotencyKey = z
  .string()
  .regex(/^(?:"[\x20\x21\x23-\x5b\x5d-\x7e]{1,255}"|[\x21\x23-\x7e][\x21-\x7e]{0,254})$/)
  .openapi({
    description:
      "Optional; makes a retry safe. A retry with the same key from the same caller (the admin; or one user with the same permissions, whichever of its tokens or API keys it sends) within 24 h gets the first answer again, with the same status and body and the header `Idempotent-Replayed: true`, and creates nothing. The same key on another route or with another body → 422 `unprocessable`. While the first request with the key still runs, a second waits up to 10 s for its answer, then gets 409 `conflict` (retry later). Kept and replayed: 2xx, 404, 409, 410 and 422 answers. Not kept, so the key may be sent again with a corrected request: 400, 401, 403, 413, 429 and 5xx. The stored answer is encrypted under a key derived from the server's secret and this header's value. 1–255 visible ASCII characters, or the IETF draft's quoted form `\"…\"`.",
    example: "8e03978e-40d5-43e8-bc93-6894a57f9324",
  });

/** `request.headers` of every route that takes `idempotent`. */
export const IdempotencyHeaders = z.object({ [IDEMPOTENCY_HEADER]: IdempotencyKey.optional() });

/** Answers kept for replay: what running the request decided. Others free the key. */
function keeps(status: number): boolean {
  return (status >= 200 && status < 300) || [404, 409, 410, 422].includes(status);
}

/**
 * Whose keys: the admin's, or one user's with one set of permissions. Like Stripe's keys per
 * account, a user's API key and its tokens share keys; a credential with other permissions has
 * keys of its own, so a replay never hands a weaker credential what a stronger one was answered.
 */
function scopeOf(caller: Caller): string {
  if (caller.kind !== "user") return caller.kind;
  return JSON.stringify([caller.user.id, [...new Set(caller.permissions)].sort()]);
}

/** JSON in RFC 8785 form (key order and spacing do not matter); any other body as it is. */
function canonical(body: string): string {
  try {
    return canonicalize(JSON.parse(body)) ?? body;
  } catch {
    // Not JSON (the route's validator refuses it), or nested too deep to canonicalize.
    return body;
  }
}

function reused(what: "body" | "route"): ApiError {
  const detail = what === "body" ? "REUSED_WITH_ANOTHER_BODY" : "REUSED_ON_ANOTHER_ROUTE";
  return new ApiError(
    "unprocessable",
    `This Idempotency-Key was already used with a different ${what === "body" ? "request body" : "method or path"}`,
    { [IDEMPOTENCY_HEADER]: [detail] },
  );
}

/**
 * `Idempotency-Key` on a creating POST (after the route's auth middleware). The key is claimed
 * in D1 before the handler runs (one insert-or-take-over, so of two concurrent requests exactly
 * one runs; the other polls for its answer), and the answer is stored encrypted when it is one
 * worth replaying. A request without the header runs as usual; a malformed one is left to the
 * route's header validator, which refuses it with 400 naming `idempotency-key`.
 */
export const idempotent = createMiddleware<AppEnv>(async (c, next) => {
  const parsed = IdempotencyKey.safeParse(c.req.header(IDEMPOTENCY_HEADER));
  if (!parsed.success || c.var.caller.kind === "anonymous") return next();
  const key = parsed.data.startsWith('"') ? parsed.data.slice(1, -1) : parsed.data;
  const material = await keyMaterial(c.env.TOKEN_SECRET, scopeOf(c.var.caller), key);
  const request = `${c.req.method} ${c.req.path}`;
  // Hono caches the body read here; the route's validator parses the same text.
  const fingerprint = await fingerprintOf(material, canonical(await c.req.text()));
  const claim = { id: material.id, request, fingerprint, lock: crypto.randomUUID() };
  const db = getDb(c.env.DB);

  let createdRef: string | null = null;
  for (let poll = 0; ; poll++) {
    const now = time.now();
    const row = await claimKey(db, claim, now, now - KEY_RETENTION_MS, now - STALE_LOCK_MS);
    if (row.request !== request) throw reused("route");
    if (row.fingerprint !== fingerprint) throw reused("body");
    if (row.status !== null) {
      const body = row.status === 204 ? null : await openBody(material, row.body ?? "");
      const headers: Record<string, string> = { [REPLAYED_HEADER]: "true" };
      if (row.contentType) headers["Content-Type"] = row.contentType;
      return new Response(body, { status: row.status, headers });
    }
    if (row.lock === claim.lock) {
      createdRef = row.createdRef;
      break;
    }
    if (poll >= WAIT_POLLS) {
      throw new ApiError(
        "conflict",
        "A request with this Idempotency-Key is still in progress; retry later",
        { [IDEMPOTENCY_HEADER]: ["IN_PROGRESS"] },
        { "Retry-After": "1" },
      );
    }
    await scheduler.wait(POLL_MS);
  }

  c.set("idempotency", { id: material.id, createdRef });
  await next();
  try {
    if (keeps(c.res.status)) {
      const body = new Uint8Array(await c.res.clone().arrayBuffer());
      await storeAnswer(db, claim.id, claim.lock, {
        status: c.res.status,
        contentType: c.res.headers.get("Content-Type"),
        body: await sealBody(material, body),
      });
    } else {
      await releaseKey(db, claim.id, claim.lock);
    }
  } catch (err) {
    // The request's work is done: its answer still goes out. The key stays held until it goes
    // stale (STALE_LOCK_MS); a retry after that runs again.
    logger.error(`Idempotency: storing the answer of ${request} failed`, {
      event: "idempotency.store_failed",
      request_id: c.var.requestId,
      error: err,
    });
  }
});
