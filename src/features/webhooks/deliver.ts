import type { Db } from "../../platform/db";
import { getDb } from "../../platform/db";
import { logger } from "../../platform/log";
import { record } from "../../platform/metrics";
import * as time from "../../platform/time";
import { refusalToCarry } from "./access";
import { disableAfterMs, type HookEffect } from "./breaker";
import { type DeliveryPayload, runCallback } from "./callbacks";
import { claimDue, sendHeads } from "./claim";
import { basicAuthOf, parseStoredConfig } from "./config";
import { MAX_DELAY_SECONDS, retryDelay } from "./countdown";
import { announceDisabled, tripOf } from "./endpoint-disabled";
import { takeInEvents } from "./intake";
import { awaitSlot } from "./pacing";
import {
  type AttemptOutcome,
  abandonDelivery,
  completeAttempts,
  type DeliveryContext,
  type DeliveryRow,
  type EventRow,
  loadDeliveries,
  type WebhookRow,
} from "./queries";
import {
  type DeliveryMessage,
  type EventMessage,
  enqueueDeliveries,
  isDeliveryMessage,
  isEventMessage,
  MAX_QUEUE_DELAY_SECONDS,
} from "./queue";
import { signingOf } from "./secrets";
import { type SendResult, sendDelivery } from "./send";
import { checkTarget, privateTargetsAllowed } from "./targets";

/** A message up to this early still counts as due (Queue delays are whole seconds). */
const DUE_SLACK_MS = 1_000;
/** How long past the timeout a running attempt keeps its lease before the scan may retake it. */
const LEASE_MARGIN_MS = 60_000;
/** Wait before retrying a message whose handling crashed (e.g. D1 unavailable). */
const CRASH_RETRY_SECONDS = 30;

type Next = { kind: "done" } | { kind: "wait"; seconds: number };

/** Contract §6: a delivery attempt waits 15 s for its answer unless configured otherwise. */
export const DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 15;

export function timeoutMs(env: Pick<Env, "WEBHOOK_TIMEOUT_SECONDS">): number {
  const seconds = Number.parseFloat(env.WEBHOOK_TIMEOUT_SECONDS ?? "");
  return (
    (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_WEBHOOK_TIMEOUT_SECONDS) * 1000
  );
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
  failingLimitMs: number,
): { retryAt: number | null; delay: number | null; hookEffect: HookEffect } {
  if (result.ok) return { retryAt: null, delay: null, hookEffect: { kind: "succeeded" } };
  if (result.status === 410) {
    const trip = hook.isActive ? tripOf(hook, "The target answered 410 Gone", 0) : null;
    return { retryAt: null, delay: null, hookEffect: { kind: "failed", final: true, trip } };
  }
  // Only an attempt that may end a long enough failing run carries a trip (SQL decides again).
  const mayTrip =
    hook.isActive && hook.failingSince !== null && now - hook.failingSince >= failingLimitMs;
  const hours = Math.round((failingLimitMs / 3_600_000) * 100) / 100;
  const trip = mayTrip
    ? tripOf(hook, `Every delivery failed for ${hours} hours`, failingLimitMs)
    : null;
  if (permanent || retryNumber > hook.maxRetries) {
    return { retryAt: null, delay: null, hookEffect: { kind: "failed", final: true, trip } };
  }
  const countdown = retryDelay(JSON.parse(hook.countdown), retryNumber);
  const delay = Math.min(Math.max(countdown, result.retryAfter ?? 0), MAX_DELAY_SECONDS);
  return {
    retryAt: now + delay * 1000,
    delay,
    hookEffect: { kind: "failed", final: false, trip },
  };
}

/** A message whose delivery is open and due, with what its attempt needs. */
interface Due {
  message: Message<DeliveryMessage>;
  delivery: DeliveryRow;
  hook: WebhookRow;
  event: EventRow;
}

/** A delivery message: what happens to it before any attempt (closed, gone, not yet due). */
async function triage(
  db: Db,
  message: Message<DeliveryMessage>,
  ctx: DeliveryContext | undefined,
  now: number,
): Promise<Next | Due> {
  if (!ctx) return { kind: "done" };
  const { delivery, hook, event } = ctx;
  if (delivery.status === "succeeded" || delivery.status === "failed") return { kind: "done" };
  if (!hook?.isActive || !event) {
    await abandonDelivery(db, delivery, hook ? "The webhook is disabled" : "The webhook is gone");
    return { kind: "done" };
  }
  const refusal = refusalToCarry(hook, event.eventType);
  if (refusal) {
    await abandonDelivery(db, delivery, refusal);
    return { kind: "done" };
  }
  if (delivery.nextAttemptAt > now + DUE_SLACK_MS) {
    return { kind: "wait", seconds: Math.ceil((delivery.nextAttemptAt - now) / 1000) };
  }
  return { message, delivery, hook, event };
}

/**
 * One attempt of a claimed delivery: the POST, then what to write and when to look again.
 * A probe (probe.ts) makes one outside the Queue.
 */
export async function attemptDelivery(
  env: Env,
  { delivery, hook, event }: Omit<Due, "message">,
  limitMs: number,
) {
  const attempt = delivery.attempts + 1;
  const data: unknown = JSON.parse(event.data);
  const payload: DeliveryPayload = { event: { type: event.eventType, uuid: event.uuid }, data };
  const verdict = await checkTarget(hook.targetUrl, privateTargetsAllowed(env));
  const result = verdict.ok
    ? await sendDelivery({
        url: hook.targetUrl,
        ...signingOf(hook, time.now()),
        eventType: event.eventType,
        eventUuid: event.uuid,
        body: JSON.stringify(payload),
        basicAuth: basicAuthOf(parseStoredConfig(hook.config)),
        timeoutMs: limitMs,
      })
    : refused(verdict.reason);
  const permanent = !verdict.ok && verdict.permanent;
  const plan = decide(
    hook,
    attempt - delivery.roundStart,
    result,
    permanent,
    time.now(),
    disableAfterMs(env),
  );
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
  const callback = () =>
    runCallback(
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
  const next: Next = plan.delay === null ? { kind: "done" } : { kind: "wait", seconds: plan.delay };
  record(env, {
    name: "webhook.attempt",
    eventType: event.eventType,
    outcome: result.ok ? "succeeded" : plan.retryAt ? "retrying" : "failed",
    durationMs: result.durationMs,
  });
  return { outcome, callback, next };
}

async function settle(env: Env, message: Message<DeliveryMessage>, next: Next): Promise<void> {
  if (next.kind === "done") {
    message.ack();
  } else if (next.seconds <= MAX_QUEUE_DELAY_SECONDS) {
    message.retry({ delaySeconds: next.seconds });
  } else {
    // Longer than a Queue may delay: a fresh message waits the maximum, then looks again.
    await enqueueDeliveries(env, [message.body.delivery_id], MAX_QUEUE_DELAY_SECONDS);
    message.ack();
  }
}

/**
 * A batch of delivery messages in a fixed number of D1 round trips: one read of every delivery,
 * one transaction claiming the due ones, the POSTs in parallel, one transaction writing every
 * outcome; then the callbacks and each message's ack or retry.
 */
async function deliverAll(
  env: Env,
  messages: Message<DeliveryMessage>[],
  settled: Set<Message<DeliveryMessage>>,
): Promise<void> {
  const db = getDb(env.DB);
  const contexts = await loadDeliveries(
    db,
    messages.map((m) => m.body.delivery_id),
  );
  const now = time.now();
  const limitMs = timeoutMs(env);
  const due: Due[] = [];
  for (const message of messages) {
    const step = await triage(db, message, contexts.get(message.body.delivery_id), now);
    if ("message" in step) {
      due.push(step);
    } else {
      await settle(env, message, step);
      settled.add(message);
    }
  }
  const { claimed, slots, pacedHooks } = await claimDue(env, db, due, settled, {
    dueBy: now + DUE_SLACK_MS,
    leaseUntil: now + limitMs + LEASE_MARGIN_MS,
  });
  const attempts = await Promise.all(
    claimed.map(async (d, i) => {
      const slot = slots[i];
      if (slot) await awaitSlot(d.hook.id, slot.at, slot.pace);
      return attemptDelivery(env, d, limitMs);
    }),
  );
  const outcomes = attempts.map((a) => a.outcome);
  const heads = await completeAttempts(db, outcomes, pacedHooks);
  await announceDisabled(env, outcomes);
  await sendHeads(env, heads);
  await Promise.all(
    claimed.map(async (d, i) => {
      const done = attempts[i];
      if (!done) return;
      try {
        await done.callback();
        await settle(env, d.message, done.next);
      } catch (err) {
        // The outcome is stored: the retried message finds the delivery closed or not yet due.
        logger.error(`Webhook queue: delivery ${d.delivery.id} failed after its attempt`, {
          event: "webhook.settle_failed",
          error: err,
        });
        d.message.retry({ delaySeconds: CRASH_RETRY_SECONDS });
      }
      settled.add(d.message);
    }),
  );
}

/**
 * Queue consumer: a delivery message carries one delivery id (D1 holds the rest); an event
 * message carries a queued emit, recorded here and delivered in the same pass (`intake.ts`).
 */
export async function deliverWebhookBatch(batch: MessageBatch, env: Env): Promise<void> {
  const messages: Message<DeliveryMessage>[] = [];
  const events: Message<EventMessage>[] = [];
  for (const message of batch.messages) {
    if (isDeliveryMessage(message.body)) {
      messages.push(message as Message<DeliveryMessage>);
    } else if (isEventMessage(message.body)) {
      events.push(message as Message<EventMessage>);
    } else {
      logger.error("Webhook queue: dropping a message that is neither a delivery nor an event", {
        event: "webhook.foreign_message",
      });
      message.ack();
    }
  }
  const settled = new Set<Message<DeliveryMessage>>();
  try {
    const intake = await takeInEvents(getDb(env.DB), events);
    messages.push(...intake.deliveries);
    await deliverAll(env, messages, settled);
    await intake.finish(env);
  } catch (err) {
    const open = messages.filter((m) => !settled.has(m));
    const ids = open.map((m) => m.body.delivery_id).join(", ");
    logger.error(`Webhook queue: deliveries ${ids} failed to process`, {
      event: "webhook.batch_failed",
      count: open.length + events.length,
      error: err,
    });
    for (const message of [...open, ...events]) {
      message.retry({ delaySeconds: CRASH_RETRY_SECONDS });
    }
  }
}
