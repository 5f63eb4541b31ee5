import type { z } from "zod";
import type { Caller } from "../../platform/auth/caller";
import { getDb } from "../../platform/db";
import { badRequest, conflict, forbidden, notFound, unauthorized } from "../../platform/errors";
import { ADMIN_OWNER, maySubscribe } from "./access";
import type { CreateHookBody, PatchHookBody } from "./api";
import { isRegisteredCallback } from "./callbacks";
import {
  type CountdownConfig,
  DEFAULT_COUNTDOWN,
  defaultMaxRetries,
  normalizeCountdown,
} from "./countdown";
import {
  findWebhook,
  insertWebhook,
  type OwnerScope,
  updateWebhook,
  type WebhookRow,
} from "./queries";
import { findEventType, isBuiltinEventType } from "./registry";
import { ED25519_OWN_SECRET, newKeys } from "./secrets";
import { isUsableSecret } from "./sign";
import { privateTargetsAllowed, targetUrlProblem } from "./targets";

/** Subscription rules: who owns a hook, what a hook may point at, and create/patch. */

export function ownerOf(caller: Caller): string {
  if (caller.kind === "admin") return ADMIN_OWNER;
  if (caller.kind === "user") return `user:${caller.user.id}`;
  throw unauthorized();
}

/** Admin sees and changes every hook; a user only their own. */
export function scopeOf(caller: Caller): OwnerScope {
  return caller.kind === "admin" ? "all" : { owner: ownerOf(caller) };
}

const DUPLICATE = "You already have a hook for this event type and target_url";

async function checkFields(
  env: Env,
  fields: {
    event_type?: string;
    target_url?: string;
    secret_key?: string;
    callback?: string | null;
  },
): Promise<void> {
  const problems: Record<string, string[]> = {};
  if (fields.event_type !== undefined && !(await findEventType(env, fields.event_type))) {
    problems.event_type = [`Unknown event type '${fields.event_type}'`];
  }
  if (fields.target_url !== undefined) {
    const problem = targetUrlProblem(fields.target_url, privateTargetsAllowed(env));
    if (problem) problems.target_url = [`target_url ${problem}`];
  }
  if (fields.secret_key !== undefined && !isUsableSecret(fields.secret_key)) {
    problems.secret_key = ["A whsec_ secret must be followed by base64"];
  }
  if (fields.callback && !isRegisteredCallback(fields.callback)) {
    problems.callback = [`No callback named '${fields.callback}' is registered`];
  }
  if (Object.keys(problems).length > 0) throw badRequest("Invalid webhook", problems);
}

/** 403 unless `caller` may subscribe to `eventType` (checked after the type is known to exist). */
function checkMaySubscribe(caller: Caller, eventType: string): void {
  if (maySubscribe(caller, eventType)) return;
  throw forbidden(
    isBuiltinEventType(eventType)
      ? `Only the admin may subscribe to the built-in event type '${eventType}'`
      : `Subscribing to '${eventType}' needs a webhooks.subscribe:<glob> permission that matches it`,
  );
}

/** A new `rate_limit` starts its pace afresh at that rate (null: unpaced). */
function paceOf(rateLimit: number | null) {
  return { rateLimit, pace: rateLimit };
}

export async function createHook(
  env: Env,
  caller: Caller,
  body: z.infer<typeof CreateHookBody>,
): Promise<{ hook: WebhookRow; secret: string | null }> {
  await checkFields(env, body);
  checkMaySubscribe(caller, body.event_type);
  const countdown = normalizeCountdown(body.retry_countdown_config ?? DEFAULT_COUNTDOWN);
  const signature = body.signature ?? "hmac";
  const keys = await newKeys(signature, body.secret_key);
  const hook = await insertWebhook(getDb(env.DB), {
    id: crypto.randomUUID(),
    owner: ownerOf(caller),
    eventType: body.event_type,
    targetUrl: body.target_url,
    secretKey: keys.secretKey,
    signature,
    publicKey: keys.publicKey,
    countdown: JSON.stringify(countdown),
    config: JSON.stringify(body.config ?? {}),
    maxRetries: body.max_retries ?? defaultMaxRetries(countdown),
    callback: body.callback ?? null,
    isActive: body.is_active ?? true,
    ...paceOf(body.rate_limit ?? null),
    ordered: body.ordered ?? false,
  });
  if (!hook) throw conflict(DUPLICATE);
  // An ed25519 hook's secret never leaves the server: its create answer shows the public key.
  return { hook, secret: signature === "hmac" ? keys.secretKey : null };
}

/** A new `secret_key` by PATCH is for hmac hooks only: an ed25519 hook's is never chosen. */
async function checkOwnSecretAllowed(env: Env, caller: Caller, id: string): Promise<void> {
  const hook = await findWebhook(getDb(env.DB), scopeOf(caller), id);
  if (!hook) throw notFound("Webhook");
  if (hook.signature === "ed25519") {
    throw badRequest("Invalid webhook", { secret_key: [ED25519_OWN_SECRET] });
  }
}

/**
 * Changes a hook. A new countdown without `max_retries` takes that countdown's default.
 * `is_active: true` re-enables an auto-disabled hook and clears its failure count and failing
 * run; unlike a successful probe it releases no backlog (`recover` sends that). A new
 * `event_type` needs the same right as subscribing to it; a built-in one, moreover, goes only
 * to the admin's own hooks (the admin cannot hand it to a user's hook either).
 */
export async function patchHook(
  env: Env,
  caller: Caller,
  id: string,
  body: z.infer<typeof PatchHookBody>,
): Promise<WebhookRow> {
  await checkFields(env, body);
  if (body.secret_key !== undefined) await checkOwnSecretAllowed(env, caller, id);
  if (body.event_type !== undefined) {
    checkMaySubscribe(caller, body.event_type);
    if (isBuiltinEventType(body.event_type)) {
      const hook = await findWebhook(getDb(env.DB), scopeOf(caller), id);
      if (!hook) throw notFound("Webhook");
      if (hook.owner !== ADMIN_OWNER) {
        throw forbidden("Built-in event types go only to the admin's own hooks");
      }
    }
  }
  let countdown: CountdownConfig | undefined;
  if (body.retry_countdown_config) countdown = normalizeCountdown(body.retry_countdown_config);
  const maxRetries = body.max_retries ?? (countdown ? defaultMaxRetries(countdown) : undefined);
  const result = await updateWebhook(getDb(env.DB), scopeOf(caller), id, {
    eventType: body.event_type,
    targetUrl: body.target_url,
    secretKey: body.secret_key,
    countdown: countdown && JSON.stringify(countdown),
    config: body.config && JSON.stringify(body.config),
    maxRetries,
    callback: body.callback,
    ...(body.rate_limit === undefined ? {} : paceOf(body.rate_limit)),
    ordered: body.ordered,
    ...(body.is_active === undefined
      ? {}
      : {
          isActive: body.is_active,
          disabledReason: null,
          consecutiveFailures: 0,
          // Enabling starts a new failing run; disabling keeps it, so a probe finds its backlog.
          ...(body.is_active ? { failingSince: null } : {}),
        }),
  });
  if (result === "conflict") throw conflict(DUPLICATE);
  if (!result) throw notFound("Webhook");
  return result;
}
