// Adds .openapi() to zod's schemas (extendZodWithOpenApi) before this module runs.
import "@hono/zod-openapi";
import { z } from "zod";
import * as time from "../../platform/time";
import { HookConfigSchema, parseStoredConfig } from "./config";
import { CountdownConfigSchema, MAX_RETRIES_LIMIT } from "./countdown";
import { MAX_ORDERING_KEY_LENGTH } from "./ordering";
import { MAX_RATE_LIMIT, MIN_RATE_LIMIT } from "./pacing";
import type { AttemptRow, WebhookRow } from "./queries";
import { EventTypeName } from "./registry";

/** The HTTP shapes of the webhooks API (requests, answers) and the row → answer mappers. */

const Timestamp = z.string().openapi({ format: "date-time" });

const Countdown = CountdownConfigSchema.openapi("RetryCountdownConfig", {
  description:
    "`fixed {seconds}`, `linear {base, limit}`, `exponential {base, limit?}`, `random {min, max}`, `schedule {delays}`",
  example: { choice: "linear", kwargs: { base: 60, limit: 600 } },
});

const Config = HookConfigSchema.openapi("WebhookConfig", {
  example: { auth: { auth_type: "basic", username: "hooks", password: "s3cret" } },
});

const hookFields = {
  event_type: EventTypeName.openapi({ example: "package-created" }),
  target_url: z.string().min(1).max(2000).openapi({ example: "https://example.com/hooks" }),
  secret_key: z
    .string()
    .min(1)
    .max(500)
    .openapi({ description: "`whsec_<base64>` or any string; generated when absent" }),
  retry_countdown_config: Countdown,
  max_retries: z.number().int().min(0).max(MAX_RETRIES_LIMIT),
  config: Config,
  callback: z
    .string()
    .min(1)
    .max(200)
    .nullable()
    .openapi({ description: "The name of a callback registered in code" }),
  is_active: z.boolean(),
  rate_limit: z.number().min(MIN_RATE_LIMIT).max(MAX_RATE_LIMIT).nullable().openapi({
    description:
      "Deliveries per second at most (spaced, never dropped; a 429 slows them down for a while); null: unlimited",
    example: 5,
  }),
  ordered: z.boolean().openapi({
    description: "Deliver the events that share an `ordering_key` one at a time, in emit order",
  }),
};

const Signature = z.enum(["hmac", "ed25519"]).openapi({
  description:
    "`hmac` (default) signs `v1,` with `secret_key`; `ed25519` signs `v1a,` with a generated key " +
    "pair whose public key (`whpk_…`) is in the hook; its secret never leaves the server",
});

export const CreateHookBody = z
  .strictObject({
    ...hookFields,
    signature: Signature.optional(),
    secret_key: hookFields.secret_key.optional(),
    retry_countdown_config: hookFields.retry_countdown_config.optional(),
    max_retries: hookFields.max_retries.optional(),
    config: hookFields.config.optional(),
    callback: hookFields.callback.optional(),
    is_active: hookFields.is_active.optional(),
    rate_limit: hookFields.rate_limit.optional(),
    ordered: hookFields.ordered.optional(),
  })
  .openapi("WebhookCreate");

export const PatchHookBody = z.strictObject(hookFields).partial().openapi("WebhookPatch");

export const Hook = z
  .object({
    id: z.string(),
    event_type: z.string(),
    target_url: z.string(),
    retry_countdown_config: z.object({
      choice: z.string(),
      kwargs: z.record(z.string(), z.unknown()),
    }),
    max_retries: z.number().int(),
    config: z.object({
      auth: z.object({ auth_type: z.literal("basic"), username: z.string() }).optional(),
    }),
    callback: z.string().nullable(),
    signature: Signature,
    public_key: z
      .string()
      .nullable()
      .openapi({ description: "`whpk_…` to verify `v1a,` signatures; null for hmac hooks" }),
    previous_secret_expires_at: Timestamp.nullable().openapi({
      description: "Until then deliveries are signed by the secret before the last rotation too",
    }),
    is_active: z.boolean(),
    disabled_reason: z.string().nullable(),
    consecutive_failures: z.number().int(),
    rate_limit: z.number().nullable(),
    ordered: z.boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Webhook");

export const CreatedHook = Hook.extend({
  secret_key: z
    .string()
    .optional()
    .openapi({ description: "Shown in this answer only; absent for ed25519 hooks" }),
}).openapi("WebhookCreated");

export const RotateSecretBody = z
  .strictObject({
    secret_key: hookFields.secret_key.openapi({
      description: "The new secret (hmac hooks only); generated when absent",
    }),
  })
  .partial()
  .openapi("WebhookRotateSecret");

export const RotatedSecret = z
  .object({
    secret_key: z.string().optional().openapi({ description: "The new secret (hmac hooks)" }),
    public_key: z
      .string()
      .optional()
      .openapi({ description: "The new `whpk_…` (ed25519 hooks: their secret is never shown)" }),
  })
  .openapi("WebhookRotatedSecret");

export const Attempt = z
  .object({
    event_uuid: z.string(),
    event_type: z.string(),
    attempt: z.number().int(),
    status: z.enum(["pending", "succeeded", "failed", "retrying"]),
    response_status: z.number().int().nullable(),
    response_body: z.string().nullable(),
    duration_ms: z.number().int().nullable(),
    error: z.string().nullable(),
    created_at: Timestamp,
  })
  .openapi("WebhookDeliveryAttempt");

export const EventType = z
  .object({
    event_type: z.string(),
    description: z.string(),
    schema: z.record(z.string(), z.unknown()).openapi({ description: "JSON Schema of `data`" }),
    builtin: z.boolean(),
  })
  .openapi("WebhookEventType");

export const CreateEventTypeBody = z
  .strictObject({
    event_type: EventTypeName.openapi({ example: "package-created" }),
    description: z.string().max(1000).default(""),
    schema: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({
        description:
          "JSON Schema (draft 2020-12) of the type's `data`, at most 16 KiB as JSON; `$ref` only " +
          "within the schema (`#/$defs/…`). Absent: any JSON object.",
        example: {
          type: "object",
          required: ["id", "amount"],
          properties: { id: { type: "integer" }, amount: { type: "number", minimum: 0 } },
        },
      }),
  })
  .openapi("WebhookEventTypeCreate");

export const EmitBody = z
  .strictObject({
    event_type: EventTypeName.openapi({ example: "package-created" }),
    data: z.record(z.string(), z.unknown()).openapi({ example: { id: 42 } }),
    event_uuid: z
      .string()
      .max(100)
      .regex(/^[A-Za-z0-9_-]{1,100}$/, "letters, digits, _ and - (at most 100)")
      .optional(),
    ordering_key: z.string().min(1).max(MAX_ORDERING_KEY_LENGTH).optional().openapi({
      description: "Ordered hooks get the events of one key one at a time, in emit order",
      example: "package-42",
    }),
  })
  .openapi("WebhookEventEmit");

/** The end of a rotation's overlap while it lasts (null before any rotation and after it). */
function previousSecretExpiry(row: WebhookRow): string | null {
  const until = row.previousSecretUntil;
  return until !== null && until > time.now() ? new Date(until).toISOString() : null;
}

/** A hook as its owner sees it: never the secret, never the basic-auth password. */
export function toHook(row: WebhookRow): z.infer<typeof Hook> {
  const auth = parseStoredConfig(row.config).auth;
  return {
    id: row.id,
    event_type: row.eventType,
    target_url: row.targetUrl,
    retry_countdown_config: JSON.parse(row.countdown),
    max_retries: row.maxRetries,
    config: auth ? { auth: { auth_type: auth.auth_type, username: auth.username } } : {},
    callback: row.callback,
    signature: row.signature,
    public_key: row.publicKey,
    previous_secret_expires_at: previousSecretExpiry(row),
    is_active: row.isActive,
    disabled_reason: row.disabledReason,
    consecutive_failures: row.consecutiveFailures,
    rate_limit: row.rateLimit,
    ordered: row.ordered,
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
  };
}

export function toAttempt(row: AttemptRow): z.infer<typeof Attempt> {
  return {
    event_uuid: row.eventUuid,
    event_type: row.eventType,
    attempt: row.attempt,
    status: row.status,
    response_status: row.responseStatus,
    response_body: row.responseBody,
    duration_ms: row.durationMs,
    error: row.error,
    created_at: new Date(row.createdAt).toISOString(),
  };
}
