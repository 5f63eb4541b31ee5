import { type Db, getDb } from "../../platform/db";
import { conflict } from "../../platform/errors";
import { logger } from "../../platform/log";
import * as time from "../../platform/time";
import { sendHeads } from "./claim";
import { attemptDelivery, timeoutMs } from "./deliver";
import { newEventUuid } from "./outbox";
import {
  claimAttempt,
  completeAttempts,
  type DeliveryRow,
  type EventRow,
  reopenDelivery,
  updateWebhook,
  type WebhookRow,
} from "./queries";
import { failedDeliveries, resend } from "./recover";

/**
 * The half-open breaker (contract §6, as Svix's): a disabled hook is tried with ONE event, the
 * oldest delivery that gave up during its failing run (or, when there is none, a signed
 * `webhook.probe` ping that is not an event and is not logged). On success the hook is enabled
 * again and the rest of that backlog is queued again, in emit order; on failure it stays
 * disabled. The probed delivery is an ordinary attempt in the hook's log.
 */

/** The type of the ping a probe sends when no delivery is waiting; no hook subscribes to it. */
export const PROBE_PING = "webhook.probe";

/** How long past the timeout a probe's attempt holds its lease (as the Queue consumer's). */
const LEASE_MARGIN_MS = 60_000;

export interface ProbeResult {
  succeeded: boolean;
  is_active: boolean;
  event_uuid: string;
  event_type: string;
  /** The attempt's number in the delivery's log; null for a ping. */
  attempt: number | null;
  response_status: number | null;
  duration_ms: number | null;
  error: string | null;
  /** Deliveries of the backlog queued again (0 unless it succeeded). */
  released: number;
}

/**
 * The deliveries of `hook` that gave up since its failing run began (during the run, or
 * abandoned while it was disabled) and that it may still carry, oldest event first.
 */
function backlog(db: Db, hook: WebhookRow, since: number) {
  return failedDeliveries(db, hook, since, "updatedAt");
}

/** One attempt of the oldest waiting delivery, outside the Queue and with no retry. */
async function probeDelivery(env: Env, hook: WebhookRow, delivery: DeliveryRow, event: EventRow) {
  const db = getDb(env.DB);
  if ((await reopenDelivery(db, hook.id, event, delivery)) === null) {
    throw conflict("A probe of this webhook is already running");
  }
  const now = time.now();
  const limitMs = timeoutMs(env);
  const reopened: DeliveryRow = {
    ...delivery,
    status: "pending",
    roundStart: delivery.attempts,
    nextAttemptAt: now,
  };
  if (!(await claimAttempt(db, reopened, now, now + limitMs + LEASE_MARGIN_MS))) {
    throw conflict("A probe of this webhook is already running");
  }
  // No retry budget: a failed probe leaves the delivery failed, waiting for the next probe.
  const { outcome, callback } = await attemptDelivery(
    env,
    { delivery: reopened, hook: { ...hook, maxRetries: 0 }, event },
    limitMs,
  );
  // A probed head of an ordering key hands on to the next event of its key, as any attempt does.
  await sendHeads(env, await completeAttempts(db, [outcome]));
  await callback().catch((err: unknown) =>
    logger.error(`Webhook ${hook.id}: the probe's callback failed`, {
      event: "webhook.probe_callback_failed",
      error: err,
    }),
  );
  return { outcome, eventUuid: event.uuid, eventType: event.eventType };
}

/** A signed ping in the delivery format, for a disabled hook with nothing waiting. */
async function ping(env: Env, hook: WebhookRow) {
  const now = time.now();
  const uuid = newEventUuid();
  const event: EventRow = {
    uuid,
    eventType: PROBE_PING,
    data: JSON.stringify({ hook_id: hook.id }),
    createdAt: now,
    orderingKey: null,
  };
  const delivery: DeliveryRow = {
    id: 0,
    eventUuid: uuid,
    webhookId: hook.id,
    status: "pending",
    attempts: 0,
    roundStart: 0,
    nextAttemptAt: now,
    createdAt: now,
    updatedAt: now,
    orderingKey: null,
  };
  // Only the POST is kept: a ping is no delivery, so neither the log nor the hook's health changes.
  const { outcome } = await attemptDelivery(env, { delivery, hook, event }, timeoutMs(env));
  return { outcome: { ...outcome, attempt: null }, eventUuid: uuid, eventType: PROBE_PING };
}

/** Re-enables `hook` and queues its backlog again; how many deliveries went. */
async function release(env: Env, hook: WebhookRow, since: number | null): Promise<number> {
  const db = getDb(env.DB);
  await updateWebhook(db, "all", hook.id, {
    isActive: true,
    disabledReason: null,
    consecutiveFailures: 0,
    failingSince: null,
  });
  if (since === null) return 0;
  return resend(env, db, hook, await backlog(db, hook, since));
}

/** Probes a disabled hook: 409 when it is active, or when a probe of it is already running. */
export async function probeHook(env: Env, hook: WebhookRow): Promise<ProbeResult> {
  if (hook.isActive) throw conflict("The webhook is active; only a disabled one is probed");
  const since = hook.failingSince;
  const [oldest] = since === null ? [] : await backlog(getDb(env.DB), hook, since);
  const probe = oldest
    ? await probeDelivery(env, hook, oldest.delivery, oldest.event)
    : await ping(env, hook);
  const succeeded = probe.outcome.status === "succeeded";
  const released = succeeded ? await release(env, hook, since) : 0;
  return {
    succeeded,
    is_active: succeeded,
    event_uuid: probe.eventUuid,
    event_type: probe.eventType,
    attempt: probe.outcome.attempt,
    response_status: probe.outcome.responseStatus,
    duration_ms: probe.outcome.durationMs,
    error: probe.outcome.error,
    released,
  };
}
