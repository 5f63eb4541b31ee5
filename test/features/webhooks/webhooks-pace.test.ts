import { createMessageBatch, env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { deliverWebhookBatch } from "../../../src/features/webhooks/deliver";
import { jittered } from "../../../src/features/webhooks/jitter";
import { ADMIN, call, expectErrorShape } from "../../helpers/http";
import {
  captureFetch,
  consume,
  delayOf,
  deliveryLog,
  emit,
  fakeClock,
  freshEventType,
  subscribe,
  testEnv,
  uid,
} from "../../helpers/webhooks";

const { advance } = fakeClock();

const url = () => `https://example.com/${uid()}`;

async function paceOf(hookId: string): Promise<number | null> {
  const row = await env.DB.prepare("SELECT pace FROM webhooks WHERE id = ?")
    .bind(hookId)
    .first<{ pace: number | null }>();
  return row?.pace ?? null;
}

/** Runs the consumer on one batch of delivery messages; each message's ack and retry spies. */
async function consumeBatch(t: Env, ids: number[]) {
  const batch = createMessageBatch(
    "switchboard-webhooks",
    ids.map((id) => ({
      id: crypto.randomUUID(),
      timestamp: new Date(),
      attempts: 1,
      body: { delivery_id: id },
    })),
  );
  const spies = batch.messages.map((m) => ({
    ack: vi.spyOn(m, "ack"),
    retry: vi.spyOn(m, "retry"),
  }));
  await deliverWebhookBatch(batch, t);
  return spies;
}

describe("retry jitter", () => {
  it("multiplies a delay by a factor in [0.8, 1.2]", () => {
    const draws = Array.from({ length: 500 }, () => jittered(100));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(80);
    expect(Math.max(...draws)).toBeLessThanOrEqual(120);
    expect(new Set(draws).size).toBeGreaterThan(20);
    expect(jittered(100, () => 0)).toBe(80);
    expect(jittered(100, () => 1)).toBe(120);
  });

  it("spreads a fixed countdown's retries within ±20 %, each one drawn anew", async () => {
    captureFetch(() => new Response("down", { status: 500 }));
    const type = await freshEventType();
    await subscribe({
      event_type: type,
      target_url: url(),
      retry_countdown_config: { choice: "fixed", kwargs: { seconds: 100 } },
      max_retries: 25,
    });
    const t = testEnv();
    await emit(t.env, type, { n: 1 });
    const id = t.sent[0]?.body.delivery_id as number;
    const delays: number[] = [];
    for (let i = 0; i < 25; i++) {
      const { retry } = await consume(t.env, id);
      delays.push(delayOf(retry));
      advance(delays.at(-1) as number);
    }
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(80);
      expect(delay).toBeLessThanOrEqual(120);
    }
    expect(new Set(delays).size).toBeGreaterThan(3);
  });

  it("keeps a Retry-After as the floor of a jittered delay", async () => {
    vi.spyOn(Math, "random").mockReturnValue(1);
    captureFetch(() => new Response("slow", { status: 503, headers: { "Retry-After": "100" } }));
    const type = await freshEventType();
    await subscribe({
      event_type: type,
      target_url: url(),
      retry_countdown_config: { choice: "fixed", kwargs: { seconds: 100 } },
    });
    const t = testEnv();
    await emit(t.env, type, {});
    const first = await consume(t.env, t.sent[0]?.body.delivery_id as number);
    expect(delayOf(first.retry)).toBe(120);
    advance(120);
    vi.spyOn(Math, "random").mockReturnValue(0);
    const second = await consume(t.env, t.sent[0]?.body.delivery_id as number);
    // 80 s of countdown, but the receiver asked for 100.
    expect(delayOf(second.retry)).toBe(100);
  });
});

describe("a hook's rate_limit", () => {
  it("is a positive number up to 1000 or null, set on create and PATCH and shown", async () => {
    const type = await freshEventType();
    for (const bad of [0, -1, 1001, "5", true]) {
      const res = await call("POST", "/api/webhooks", {
        token: ADMIN,
        body: { event_type: type, target_url: url(), rate_limit: bad },
      });
      expect(res.status).toBe(400);
      expectErrorShape(res.body);
      expect(Object.keys(res.body.error.details)).toContain("rate_limit");
    }
    const plain = await subscribe({ event_type: type, target_url: url() });
    expect(plain).toMatchObject({ rate_limit: null, ordered: false });
    const hook = await subscribe({ event_type: type, target_url: url(), rate_limit: 2.5 });
    expect(hook.rate_limit).toBe(2.5);
    const patched = await call("PATCH", `/api/webhooks/${hook.id}`, {
      token: ADMIN,
      body: { rate_limit: 1000 },
    });
    expect(patched.body.rate_limit).toBe(1000);
    expect(await paceOf(hook.id)).toBe(1000);
    const cleared = await call("PATCH", `/api/webhooks/${hook.id}`, {
      token: ADMIN,
      body: { rate_limit: null },
    });
    expect(cleared.body.rate_limit).toBeNull();
    expect(await paceOf(hook.id)).toBeNull();
    const read = await call("GET", `/api/webhooks/${hook.id}`, { token: ADMIN });
    expect(read.body).toMatchObject({ rate_limit: null, ordered: false });
  });

  it("sends a batch's slots of the next 3 s itself and sends the rest back for theirs", async () => {
    const { calls } = captureFetch();
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: url(), rate_limit: 2 });
    const t = testEnv();
    for (let i = 0; i < 10; i++) await emit(t.env, type, { i });
    const ids = t.sent.map((m) => m.body.delivery_id);
    t.sent.length = 0;
    const spies = await consumeBatch(t.env, ids);
    // 2 per second from 50 ms on: six slots (50 … 2550 ms) fit the 3 s horizon.
    expect(calls).toHaveLength(6);
    expect(spies.every((s) => s.ack.mock.calls.length === 1)).toBe(true);
    expect(spies.some((s) => s.retry.mock.calls.length > 0)).toBe(false);
    // The other four come back 1.5 s before their slots (3050, 3550, 4050, 4550 ms), in whole
    // seconds, as fresh messages (waiting for a slot is no retry).
    expect(t.sent.map((m) => m.delaySeconds)).toEqual([2, 3, 3, 4]);
    // Each deferred delivery is due then, so neither the scan nor an early message sends it.
    const early = await consume(t.env, t.sent[0]?.body.delivery_id as number);
    expect(delayOf(early.retry)).toBe(2);
    expect(calls).toHaveLength(6);
    // Nothing is dropped: each deferred delivery goes at its slot.
    advance(4);
    await consumeBatch(
      t.env,
      t.sent.map((m) => m.body.delivery_id),
    );
    expect(calls).toHaveLength(10);
    const log = await deliveryLog(hook.id);
    expect(log.map((r) => r.status)).toEqual(Array(10).fill("succeeded"));
  });

  it("halves its pace on a 429 and wins it back with successes (AIMD)", async () => {
    let answer = 429;
    captureFetch(() => new Response("", { status: answer }));
    const type = await freshEventType();
    const hook = await subscribe({
      event_type: type,
      target_url: url(),
      rate_limit: 4,
      retry_countdown_config: { choice: "fixed", kwargs: { seconds: 1 } },
    });
    const t = testEnv();
    await emit(t.env, type, { n: 0 });
    await consume(t.env, t.sent[0]?.body.delivery_id as number);
    expect(await paceOf(hook.id)).toBe(2);
    // Another 429: halved again, never below 0.1/s.
    advance(2);
    await consume(t.env, t.sent[0]?.body.delivery_id as number);
    expect(await paceOf(hook.id)).toBe(1);
    answer = 200;
    const paces: (number | null)[] = [];
    for (let i = 1; i <= 9; i++) {
      advance(10);
      await emit(t.env, type, { n: i });
      await consume(t.env, t.sent.at(-1)?.body.delivery_id as number);
      paces.push(await paceOf(hook.id));
    }
    // Each success adds a tenth of the rate limit, up to the limit.
    expect(paces.map((p) => Math.round((p ?? 0) * 10) / 10)).toEqual([
      1.4, 1.8, 2.2, 2.6, 3, 3.4, 3.8, 4, 4,
    ]);
  });

  it("leaves a hook without a rate_limit unpaced", async () => {
    const { calls } = captureFetch();
    const type = await freshEventType();
    await subscribe({ event_type: type, target_url: url() });
    const t = testEnv();
    for (let i = 0; i < 20; i++) await emit(t.env, type, { i });
    const ids = t.sent.map((m) => m.body.delivery_id);
    t.sent.length = 0;
    await consumeBatch(t.env, ids);
    expect(calls).toHaveLength(20);
    expect(t.sent).toHaveLength(0);
  });
});
