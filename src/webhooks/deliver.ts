import { getDb } from "../db/client";
import {
  type AttemptOutcome,
  abandonDelivery,
  claimAttempt,
  completeAttempt,
  type HookEffect,
  loadDelivery,
  type WebhookRow,
} from "../db/queries/webhooks";
import { type DeliveryPayload, runCallback } from "./callbacks";
import { basicAuthOf, parseStoredConfig } from "./config";
import { countdownDelay, MAX_DELAY_SECONDS } from "./countdown";
import { enqueueDeliveries, isDeliveryMessage, MAX_QUEUE_DELAY_SECONDS } from "./queue";
import { type SendResult, sendDelivery } from "./send";
import { checkTarget, privateTargetsAllowed } from "./targets";

/** A hook is disabled after this many events in a row ended failed. */
export const AUTO_DISABLE_AFTER = 50;
/** A message up to this early still counts as due (Queue delays are whole seconds). */
const DUE_SLACK_MS = 1_000;
/** How long past the timeout a running attempt keeps its lease before the scan may retake it. */
const LEASE_MARGIN_MS = 60_000;
/** Wait before retrying a message whose handling crashed (e.g. D1 unavailable). */
const CRASH_RETRY_SECONDS = 30;

type Next = { kind: "done" } | { kind: "wait"; seconds: number };

function timeoutMs(env: Env): number {
  const seconds = Number.parseFloat(env.WEBHOOK_TIMEOUT_SECONDS ?? "");
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 10_000;
}

function refused(reason: string): SendResult {
  return { ok: false, status: null, body: null, durationMs: 0, error: reason, retryAfter: null };
}

/** Whether and when to try again, and what the attempt does to the hook's health. */
function decide(
  hook: WebhookRow,
  retryNumber: number,
  result: SendResult,
  permanent: boolean,
  now: number,
): { retryAt: number | null; delay: number | null; hookEffect: HookEffect } {
  if (result.ok) return { retryAt: null, delay: null, hookEffect: { kind: "succeeded" } };
  if (result.status === 410) {
    return {
      retryAt: null,
      delay: null,
      hookEffect: { kind: "gone", reason: "The target answered 410 Gone" },
    };
  }
  if (permanent || retryNumber > hook.maxRetries) {
    return {
      retryAt: null,
      delay: null,
      hookEffect: {
        kind: "failed",
        disableAfter: AUTO_DISABLE_AFTER,
        reason: `Disabled after ${AUTO_DISABLE_AFTER} consecutive failed events`,
      },
    };
  }
  const countdown = countdownDelay(JSON.parse(hook.countdown), retryNumber);
  const delay = Math.min(Math.max(countdown, result.retryAfter ?? 0), MAX_DELAY_SECONDS);
  return { retryAt: now + delay * 1000, delay, hookEffect: { kind: "none" } };
}

/** One delivery message: attempt it if due and still open; say when to look again. */
async function processDelivery(env: Env, deliveryId: number): Promise<Next> {
  const db = getDb(env.DB);
  const ctx = await loadDelivery(db, deliveryId);
  if (!ctx) return { kind: "done" };
  const { delivery, hook, event } = ctx;
  if (delivery.status === "succeeded" || delivery.status === "failed") return { kind: "done" };
  if (!hook?.isActive || !event) {
    await abandonDelivery(db, delivery, hook ? "The webhook is disabled" : "The webhook is gone");
    return { kind: "done" };
  }
  const now = Date.now();
  if (delivery.nextAttemptAt > now + DUE_SLACK_MS) {
    return { kind: "wait", seconds: Math.ceil((delivery.nextAttemptAt - now) / 1000) };
  }
  const limitMs = timeoutMs(env);
  if (!(await claimAttempt(db, delivery, now + DUE_SLACK_MS, now + limitMs + LEASE_MARGIN_MS))) {
    return { kind: "done" };
  }
  const attempt = delivery.attempts + 1;
  const data: unknown = JSON.parse(event.data);
  const payload: DeliveryPayload = { event: { type: event.eventType, uuid: event.uuid }, data };
  const verdict = await checkTarget(hook.targetUrl, privateTargetsAllowed(env));
  const result = verdict.ok
    ? await sendDelivery({
        url: hook.targetUrl,
        secret: hook.secretKey,
        eventType: event.eventType,
        eventUuid: event.uuid,
        body: JSON.stringify(payload),
        basicAuth: basicAuthOf(parseStoredConfig(hook.config)),
        timeoutMs: limitMs,
      })
    : refused(verdict.reason);
  const permanent = !verdict.ok && verdict.permanent;
  const retryNumber = attempt - delivery.roundStart;
  const plan = decide(hook, retryNumber, result, permanent, Date.now());
  const outcome: AttemptOutcome = {
    delivery,
    attempt,
    eventType: event.eventType,
    status: result.ok ? "succeeded" : "failed",
    responseStatus: result.status,
    responseBody: result.body,
    durationMs: verdict.ok ? result.durationMs : null,
    error: result.error,
    retryAt: plan.retryAt,
    hookEffect: plan.hookEffect,
  };
  await completeAttempt(db, outcome);
  await runCallback(
    hook.callback,
    {
      webhook_id: hook.id,
      event_uuid: event.uuid,
      attempt,
      status: result.ok ? "succeeded" : plan.retryAt ? "retrying" : "failed",
      response_status: result.status,
      error: result.error,
      duration_ms: outcome.durationMs,
    },
    event.eventType,
    data,
    payload,
  );
  return plan.delay === null ? { kind: "done" } : { kind: "wait", seconds: plan.delay };
}

async function handleMessage(message: Message<unknown>, env: Env): Promise<void> {
  if (!isDeliveryMessage(message.body)) {
    console.error("Webhook queue: dropping a message that is not a delivery");
    message.ack();
    return;
  }
  const deliveryId = message.body.delivery_id;
  try {
    const next = await processDelivery(env, deliveryId);
    if (next.kind === "done") {
      message.ack();
    } else if (next.seconds <= MAX_QUEUE_DELAY_SECONDS) {
      message.retry({ delaySeconds: next.seconds });
    } else {
      // Longer than a Queue may delay: a fresh message waits the maximum, then looks again.
      await enqueueDeliveries(env, [deliveryId], MAX_QUEUE_DELAY_SECONDS);
      message.ack();
    }
  } catch (err) {
    console.error(`Webhook queue: delivery ${deliveryId} failed to process`, err);
    message.retry({ delaySeconds: CRASH_RETRY_SECONDS });
  }
}

/** Queue consumer: each message carries one delivery id; D1 holds the rest. */
export async function deliverWebhookBatch(batch: MessageBatch, env: Env): Promise<void> {
  await Promise.all(batch.messages.map((message) => handleMessage(message, env)));
}
