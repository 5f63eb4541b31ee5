import { sql } from "drizzle-orm";
import { index, integer, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Event types an app registered at runtime (the built-in ones live in code: `src/features/webhooks/registry.ts`). */
export const webhookEventTypes = sqliteTable("webhook_event_types", {
  name: text("name").primaryKey(),
  description: text("description").notNull(),
  /** JSON Schema (draft 2020-12) of `data` as registered, checked on every emit; null: any object. */
  schema: text("schema"),
  createdAt: integer("created_at").notNull(),
});

/** Subscriptions: one owner, one event type, one target. */
export const webhooks = sqliteTable(
  "webhooks",
  {
    id: text("id").primaryKey(),
    /** The user id of a client token, or `admin`. */
    owner: text("owner").notNull(),
    eventType: text("event_type").notNull(),
    targetUrl: text("target_url").notNull(),
    /** `whsec_…` or any string (hmac), or `whsk_…` (ed25519): never in an answer. */
    secretKey: text("secret_key").notNull(),
    /** `hmac` signs `v1,`, `ed25519` signs `v1a,` (Standard Webhooks). */
    signature: text("signature", { enum: ["hmac", "ed25519"] })
      .notNull()
      .default("hmac"),
    /** `whpk_…` of an ed25519 hook; null for hmac. */
    publicKey: text("public_key"),
    /** The secret before the last rotation: deliveries are signed by it too until the time below. */
    previousSecretKey: text("previous_secret_key"),
    /** Epoch ms when the rotation overlap ends. */
    previousSecretUntil: integer("previous_secret_until"),
    /** JSON `{choice, kwargs}`. */
    countdown: text("retry_countdown_config").notNull(),
    /** JSON of the subscriber's `config` (e.g. `{auth: {auth_type, username, password}}`). */
    config: text("config").notNull().default("{}"),
    maxRetries: integer("max_retries").notNull(),
    callback: text("callback"),
    isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
    disabledReason: text("disabled_reason"),
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    /** Epoch ms of the first failed attempt with no success since; null while healthy. */
    failingSince: integer("failing_since"),
    /** The `webhook.endpoint_disabled` event of the latest automatic disable (see breaker.ts). */
    disabledEvent: text("disabled_event"),
    /** Deliveries per second at most (contract §6); null: unlimited. */
    rateLimit: real("rate_limit"),
    /** The pace in use (AIMD: halved by a 429, raised by successes up to `rateLimit`). */
    pace: real("pace"),
    /** Epoch ms of the first free send slot (see `pacing.ts`). */
    nextSlotAt: real("next_slot_at").notNull().default(0),
    /** How many slots the latest reservation granted, read back in its own transaction. */
    slotsGranted: integer("slots_granted").notNull().default(0),
    /** Events sharing an ordering key go one at a time, in emit order (see `ordering.ts`). */
    ordered: integer("ordered", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("webhooks_owner_type_url").on(t.owner, t.eventType, t.targetUrl),
    index("webhooks_type_active").on(t.eventType, t.isActive),
  ],
);

/** Every emitted event, once per uuid (emitting the same uuid again is a no-op). */
export const webhookEvents = sqliteTable("webhook_events", {
  uuid: text("uuid").primaryKey(),
  eventType: text("event_type").notNull(),
  /** JSON of `data`. */
  data: text("data").notNull(),
  /** Events of one key go in order to ordered hooks; null: no order. */
  orderingKey: text("ordering_key"),
  createdAt: integer("created_at").notNull(),
});

/** One event for one hook: its state and our own attempt counter (the Queue's is not trusted). */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    eventUuid: text("event_uuid").notNull(),
    webhookId: text("webhook_id").notNull(),
    status: text("status", { enum: ["pending", "retrying", "succeeded", "failed"] }).notNull(),
    /** Attempts made so far, over every round. */
    attempts: integer("attempts").notNull().default(0),
    /** `attempts` when the current round began (a redelivery starts a new round of retries). */
    roundStart: integer("round_start").notNull().default(0),
    /** Epoch ms when the next attempt is due, or until when a running attempt holds its lease. */
    nextAttemptAt: integer("next_attempt_at").notNull(),
    /** The event's ordering key when the hook is ordered; null: this delivery waits for none. */
    orderingKey: text("ordering_key"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_event_hook").on(t.eventUuid, t.webhookId),
    index("webhook_deliveries_due").on(t.status, t.nextAttemptAt),
    // The open deliveries of a key: what an ordered claim looks for ahead of itself.
    index("webhook_deliveries_key_open")
      .on(t.webhookId, t.orderingKey, t.id)
      .where(sql`${t.orderingKey} IS NOT NULL AND ${t.status} IN ('pending', 'retrying')`),
  ],
);

/** The log: one row per attempt, written when scheduled and completed with its outcome. */
export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    deliveryId: integer("delivery_id").notNull(),
    webhookId: text("webhook_id").notNull(),
    eventUuid: text("event_uuid").notNull(),
    eventType: text("event_type").notNull(),
    attempt: integer("attempt").notNull(),
    status: text("status", { enum: ["pending", "retrying", "succeeded", "failed"] }).notNull(),
    responseStatus: integer("response_status"),
    responseBody: text("response_body"),
    durationMs: integer("duration_ms"),
    error: text("error"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("webhook_attempts_delivery_attempt").on(t.deliveryId, t.attempt),
    index("webhook_attempts_hook").on(t.webhookId, t.id),
  ],
);
