import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { leaseMs } from "../../../src/features/webhooks/deliver";
import { safetyNetDelaySeconds } from "../../../src/features/webhooks/immediate";
import { prepareEvent, recordAndDispatch } from "../../../src/features/webhooks/outbox";
import { claimAttempt, type DeliveryRow } from "../../../src/features/webhooks/queries";
import { getDb } from "../../../src/platform/db";
import {
  captureFetch,
  consume,
  deliveryLog,
  fakeClock,
  freshEventType,
  subscribe,
  testEnv,
  uid,
} from "../../helpers/webhooks";

// The emitting Worker's own first attempt (immediate.ts), with the Queue as its safety net.

const { advance } = fakeClock();

const url = () => `https://example.com/${uid()}`;

/**
 * Emits events the way the HTTP route does (one group, with a `waitUntil`) through `t`'s
 * recording queue, and waits for the immediate attempts; their uuids, in emit order.
 */
async function emitNow(t: Env, type: string, count = 1, orderingKey?: string): Promise<string[]> {
  const ctx = createExecutionContext();
  const events = await Promise.all(
    Array.from({ length: count }, (_, i) => prepareEvent(t, type, { i }, undefined, orderingKey)),
  );
  await Promise.all(events.map((event) => recordAndDispatch(t, event, ctx)));
  await waitOnExecutionContext(ctx);
  return events.map((e) => e.uuid);
}

async function deliveryOf(hookId: string, eventUuid: string): Promise<DeliveryRow> {
  const row = await env.DB.prepare(
    `SELECT id, event_uuid AS eventUuid, webhook_id AS webhookId, status, attempts,
            round_start AS roundStart, next_attempt_at AS nextAttemptAt, created_at AS createdAt,
            updated_at AS updatedAt, ordering_key AS orderingKey
     FROM webhook_deliveries WHERE webhook_id = ? AND event_uuid = ?`,
  )
    .bind(hookId, eventUuid)
    .first<DeliveryRow>();
  if (!row) throw new Error(`no delivery of ${eventUuid} to ${hookId}`);
  return row;
}

const statuses = (log: { attempt: number; status: string }[]) =>
  log.map((r) => [r.attempt, r.status]);

describe("the immediate first attempt", () => {
  it("delivers an emitted event before the Queue consumer runs; its message then sends nothing", async () => {
    const { calls } = captureFetch(() => new Response("thanks"));
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: url() });
    const t = testEnv();
    const [uuid] = await emitNow(t.env, type);

    expect(calls.map((c) => c.headers["webhook-id"])).toEqual([uuid]);
    expect(statuses(await deliveryLog(hook.id))).toEqual([[1, "succeeded"]]);
    // The safety net: one message, due only after the attempt's lease.
    expect(t.sent).toHaveLength(1);
    expect(t.sent[0]?.delaySeconds).toBe(safetyNetDelaySeconds(t.env));
    expect(safetyNetDelaySeconds(t.env) * 1000).toBeGreaterThan(leaseMs(t.env));

    advance(safetyNetDelaySeconds(t.env));
    const { ack, retry } = await consume(t.env, t.sent[0]?.body.delivery_id as number);
    expect(ack).toHaveBeenCalled();
    expect(retry).not.toHaveBeenCalled();
    expect(calls).toHaveLength(1);
    expect(statuses(await deliveryLog(hook.id))).toEqual([[1, "succeeded"]]);
  });

  it("hands a failed attempt's retry to the Queue, which makes it: both in the log", async () => {
    const { calls } = captureFetch(
      (n) => new Response(n === 0 ? "down" : "ok", { status: n === 0 ? 500 : 200 }),
    );
    const type = await freshEventType();
    const hook = await subscribe({
      event_type: type,
      target_url: url(),
      retry_countdown_config: { choice: "fixed", kwargs: { seconds: 5 } },
    });
    const t = testEnv();
    await emitNow(t.env, type);
    expect(calls).toHaveLength(1);
    expect(statuses(await deliveryLog(hook.id))).toEqual([
      [2, "retrying"],
      [1, "failed"],
    ]);
    // The safety net and the retry, a fresh message at the countdown (±20 % jitter).
    expect(t.sent).toHaveLength(2);
    const retryMessage = t.sent[1];
    expect(retryMessage?.body).toEqual(t.sent[0]?.body);
    expect(retryMessage?.delaySeconds).toBeGreaterThanOrEqual(4);
    expect(retryMessage?.delaySeconds).toBeLessThanOrEqual(6);

    advance(retryMessage?.delaySeconds ?? 0);
    await consume(t.env, retryMessage?.body.delivery_id as number);
    expect(calls).toHaveLength(2);
    expect(statuses(await deliveryLog(hook.id))).toEqual([
      [2, "succeeded"],
      [1, "failed"],
    ]);
  });

  it("sends only the head of an ordered hook's key; the next goes when the head closes", async () => {
    const { calls } = captureFetch();
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: url(), ordered: true });
    const t = testEnv();
    const key = `k-${uid()}`;
    const [first, second, third] = await emitNow(t.env, type, 3, key);

    // One group: the first attempt claims only the head, whose outcome enqueues the next.
    expect(calls.map((c) => c.headers["webhook-id"])).toEqual([first]);
    const next = (await deliveryOf(hook.id, second as string)).id;
    const heads = t.sent.filter((m) => m.delaySeconds === 0).map((m) => m.body.delivery_id);
    expect(heads).toEqual([next]);

    await consume(t.env, next);
    const after = (await deliveryOf(hook.id, third as string)).id;
    await consume(t.env, after);
    expect(calls.map((c) => c.headers["webhook-id"])).toEqual([first, second, third]);
  });

  it("spaces a rate-limited hook's deliveries at its pace", async () => {
    const sentAt: number[] = [];
    const { calls } = captureFetch(() => {
      sentAt.push(performance.now());
      return new Response("ok");
    });
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: url(), rate_limit: 5 });
    const t = testEnv();
    await emitNow(t.env, type, 3);
    expect(calls).toHaveLength(3);
    // 5 per second: 200 ms apart (a little less for timer granularity).
    for (let i = 1; i < sentAt.length; i++) {
      expect((sentAt[i] as number) - (sentAt[i - 1] as number)).toBeGreaterThanOrEqual(190);
    }
    expect(statuses(await deliveryLog(hook.id))).toEqual([
      [1, "succeeded"],
      [1, "succeeded"],
      [1, "succeeded"],
    ]);
  });

  it("recovers a claim that never completed once, after its lease, through the Queue", async () => {
    const { calls } = captureFetch();
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: url() });
    const t = testEnv();
    // Recorded without a `waitUntil`: no immediate attempt, then claimed and left, as a Worker
    // that died between its claim and the outcome leaves it.
    const event = await prepareEvent(t.env, type, { crashed: true });
    await recordAndDispatch(t.env, event);
    const delivery = await deliveryOf(hook.id, event.uuid);
    const now = Date.now();
    expect(await claimAttempt(getDb(env.DB), delivery, now, now + leaseMs(t.env))).toBe(true);

    // The message before the lease is over: no attempt, it comes back when the lease ends.
    const early = await consume(t.env, delivery.id);
    expect(early.retry).toHaveBeenCalled();
    expect(calls).toHaveLength(0);

    advance(safetyNetDelaySeconds(t.env));
    const late = await consume(t.env, delivery.id);
    expect(late.ack).toHaveBeenCalled();
    await consume(t.env, delivery.id);
    expect(calls).toHaveLength(1);
    expect((await deliveryLog(hook.id)).map((r) => [r.attempt, r.status, r.error])).toEqual([
      [2, "succeeded", null],
      [1, "failed", "attempt interrupted"],
    ]);
  });
});
