import { createMessageBatch, env } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import { registerCallback, unregisterCallback } from "../../../src/features/webhooks/callbacks";
import { deliverWebhookBatch, timeoutMs } from "../../../src/features/webhooks/deliver";
import { ADMIN, call } from "../../helpers/http";
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
  withoutJitter,
} from "../../helpers/webhooks";

const url = () => `https://example.com/${uid()}`;
const fail = (status = 500) => new Response("nope", { status });

const clock = fakeClock();
const { advance } = clock;

/** A hook on a fresh type, and an event emitted to it through a recording queue. */
async function setup(hook: Record<string, unknown> = {}, overrides: Partial<Env> = {}) {
  const type = await freshEventType();
  const created = await subscribe({ event_type: type, target_url: url(), ...hook });
  const t = testEnv(overrides);
  const eventUuid = await emit(t.env, type, { hello: "world" });
  expect(t.sent).toHaveLength(1);
  const deliveryId = t.sent[0]?.body.delivery_id as number;
  return { ...t, type, hook: created, eventUuid, deliveryId };
}

describe("the webhook queue consumer", () => {
  it("POSTs the signed payload once and logs a success", async () => {
    const { calls } = captureFetch(() => new Response("thanks", { status: 200 }));
    const s = await setup({
      config: { auth: { auth_type: "basic", username: "ada", password: "pw" } },
    });
    const { retry, ack } = await consume(s.env, s.deliveryId);
    expect(ack).toHaveBeenCalled();
    expect(retry).not.toHaveBeenCalled();
    expect(calls).toHaveLength(1);
    const req = calls[0]!;
    expect(req.url).toBe(s.hook.target_url);
    expect(JSON.parse(req.body)).toEqual({
      event: { type: s.type, uuid: s.eventUuid },
      data: { hello: "world" },
    });
    expect(req.headers).toMatchObject({
      "content-type": "application/json",
      "x-whisperer-event": s.type,
      "webhook-id": s.eventUuid,
      "webhook-timestamp": String(Math.floor(clock.now() / 1000)),
      authorization: `Basic ${btoa("ada:pw")}`,
    });
    expect(new Webhook(s.hook.secret_key).verify(req.body, req.headers)).toEqual(
      JSON.parse(req.body),
    );
    const log = await deliveryLog(s.hook.id);
    expect(log).toEqual([
      {
        event_uuid: s.eventUuid,
        event_type: s.type,
        attempt: 1,
        status: "succeeded",
        response_status: 200,
        response_body: "thanks",
        duration_ms: expect.any(Number),
        error: null,
        created_at: expect.any(String),
      },
    ]);
  });

  it("retries a 500 at the countdown's delay, then succeeds: two attempts logged", async () => {
    withoutJitter();
    const { calls } = captureFetch((n) => (n === 0 ? fail() : new Response("ok")));
    const s = await setup({ retry_countdown_config: { choice: "fixed", kwargs: { seconds: 7 } } });
    const first = await consume(s.env, s.deliveryId);
    expect(first.retry).toHaveBeenCalledWith({ delaySeconds: 7 });
    expect((await deliveryLog(s.hook.id)).map((r) => [r.attempt, r.status])).toEqual([
      [2, "retrying"],
      [1, "failed"],
    ]);
    // A message that comes back early waits the rest of the delay and sends nothing.
    advance(3);
    const early = await consume(s.env, s.deliveryId);
    expect(early.retry).toHaveBeenCalledWith({ delaySeconds: 4 });
    expect(calls).toHaveLength(1);
    advance(4);
    const second = await consume(s.env, s.deliveryId);
    expect(second.ack).toHaveBeenCalled();
    expect(second.retry).not.toHaveBeenCalled();
    const log = await deliveryLog(s.hook.id);
    expect(log.map((r) => [r.attempt, r.status, r.response_status])).toEqual([
      [2, "succeeded", 200],
      [1, "failed", 500],
    ]);
    expect(log[1].response_body).toBe("nope");
    expect(calls.map((c) => c.headers["webhook-id"])).toEqual([s.eventUuid, s.eventUuid]);
    expect(Number(calls[1]?.headers["webhook-timestamp"])).toBe(
      Number(calls[0]?.headers["webhook-timestamp"]) + 7,
    );
    // A duplicate message for a finished delivery does nothing.
    const dup = await consume(s.env, s.deliveryId);
    expect(dup.ack).toHaveBeenCalled();
    expect(calls).toHaveLength(2);
  });

  it("handles a whole batch at once: each delivery POSTed once, a duplicate message acked", async () => {
    const { calls } = captureFetch((n) => (n === 1 ? fail() : new Response("ok")));
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: url() });
    const t = testEnv();
    const uuids = [];
    for (let i = 0; i < 3; i++) uuids.push(await emit(t.env, type, { i }));
    const ids = t.sent.map((m) => m.body.delivery_id as number);
    const batch = createMessageBatch(
      "switchboard-webhooks",
      [...ids, ids[0]].map((id) => ({
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
    await deliverWebhookBatch(batch, t.env);
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c) => c.headers["webhook-id"]))).toEqual(new Set(uuids));
    expect(spies.filter((s) => s.ack.mock.calls.length).length).toBe(3);
    expect(spies.filter((s) => s.retry.mock.calls.length).length).toBe(1);
    const log = await deliveryLog(hook.id);
    expect(log.filter((r) => r.status === "succeeded")).toHaveLength(2);
    expect(log.filter((r) => r.status === "failed")).toHaveLength(1);
    expect(log.filter((r) => r.status === "retrying")).toHaveLength(1);
  });

  it("gives up on a target that does not answer in time and retries", async () => {
    withoutJitter();
    // A target that never answers: only the abort signal ends the request.
    vi.spyOn(globalThis, "fetch").mockImplementation(
      (_input, init) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
        }),
    );
    const s = await setup(
      { retry_countdown_config: { choice: "fixed", kwargs: { seconds: 30 } } },
      { WEBHOOK_TIMEOUT_SECONDS: "0.2" },
    );
    const started = performance.now();
    const { retry } = await consume(s.env, s.deliveryId);
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(retry).toHaveBeenCalledWith({ delaySeconds: 30 });
    const [, first] = await deliveryLog(s.hook.id);
    expect(first).toMatchObject({ attempt: 1, status: "failed", response_status: null });
    expect(first.error).toMatch(/timed out after 200 ms/);
  });

  const countdowns: [string, Record<string, unknown>, number, number[]][] = [
    ["fixed", { seconds: 3 }, 3, [3, 3, 3]],
    ["linear", { base: 60, limit: 150 }, 4, [60, 120, 150, 150]],
    ["exponential", { base: 2, limit: 10 }, 4, [2, 4, 8, 10]],
    ["schedule", { delays: [1, 5, 9] }, 3, [1, 5, 9]],
  ];
  for (const [choice, kwargs, maxRetries, delays] of countdowns) {
    it(`follows ${choice} delays exactly, then fails after max_retries`, async () => {
      withoutJitter();
      const { calls } = captureFetch(() => fail(502));
      const s = await setup({
        retry_countdown_config: { choice, kwargs },
        ...(choice === "schedule" ? {} : { max_retries: maxRetries }),
      });
      const seen: number[] = [];
      for (const _ of delays) {
        const { retry } = await consume(s.env, s.deliveryId);
        expect(retry).toHaveBeenCalledTimes(1);
        const delay = delayOf(retry);
        seen.push(delay);
        advance(delay);
      }
      expect(seen).toEqual(delays);
      const last = await consume(s.env, s.deliveryId);
      expect(last.retry).not.toHaveBeenCalled();
      expect(last.ack).toHaveBeenCalled();
      expect(calls).toHaveLength(delays.length + 1);
      const log = await deliveryLog(s.hook.id);
      expect(log).toHaveLength(delays.length + 1);
      expect(log.every((r) => r.status === "failed")).toBe(true);
      expect(log[0].attempt).toBe(delays.length + 1);
      const hook = await call("GET", `/api/webhooks/${s.hook.id}`, { token: ADMIN });
      expect(hook.body).toMatchObject({ is_active: true, consecutive_failures: 1 });
    });
  }

  it("draws random delays within [min, max]", async () => {
    captureFetch(() => fail());
    const s = await setup({
      retry_countdown_config: { choice: "random", kwargs: { min: 5, max: 7 } },
      max_retries: 6,
    });
    for (let i = 0; i < 6; i++) {
      const { retry } = await consume(s.env, s.deliveryId);
      const delay = delayOf(retry);
      expect(delay).toBeGreaterThanOrEqual(5);
      expect(delay).toBeLessThanOrEqual(7);
      advance(delay);
    }
  });

  it("honours Retry-After on a 429 when it is longer than the countdown", async () => {
    captureFetch(
      () => new Response("slow down", { status: 429, headers: { "Retry-After": "120" } }),
    );
    const s = await setup({ retry_countdown_config: { choice: "fixed", kwargs: { seconds: 5 } } });
    const { retry } = await consume(s.env, s.deliveryId);
    expect(retry).toHaveBeenCalledWith({ delaySeconds: 120 });
  });

  it("reaches delays over the Queue's 12 h limit by re-enqueueing", async () => {
    withoutJitter();
    captureFetch(() => fail(503));
    const s = await setup({
      retry_countdown_config: { choice: "fixed", kwargs: { seconds: 86400 } },
    });
    const first = await consume(s.env, s.deliveryId);
    expect(first.retry).not.toHaveBeenCalled();
    expect(first.ack).toHaveBeenCalled();
    expect(s.sent.at(-1)).toEqual({ body: { delivery_id: s.deliveryId }, delaySeconds: 43200 });
    advance(43200);
    const halfway = await consume(s.env, s.deliveryId);
    expect(halfway.retry).toHaveBeenCalledWith({ delaySeconds: 43200 });
  });

  it("does not follow redirects: a 3xx is a failure", async () => {
    const { spy } = captureFetch(
      () => new Response(null, { status: 302, headers: { Location: "https://x.test/" } }),
    );
    const s = await setup({ max_retries: 0 });
    await consume(s.env, s.deliveryId);
    expect((spy.mock.calls[0]?.[1] as RequestInit | undefined)?.redirect).toBe("manual");
    const [attempt] = await deliveryLog(s.hook.id);
    expect(attempt).toMatchObject({
      status: "failed",
      response_status: 302,
      error: "redirect not followed",
    });
  });

  it("disables the hook at once on 410 Gone", async () => {
    captureFetch(() => fail(410));
    const s = await setup();
    const { retry } = await consume(s.env, s.deliveryId);
    expect(retry).not.toHaveBeenCalled();
    const hook = await call("GET", `/api/webhooks/${s.hook.id}`, { token: ADMIN });
    expect(hook.body.is_active).toBe(false);
    expect(hook.body.disabled_reason).toMatch(/410/);
    // New events are not delivered to it.
    const t = testEnv();
    await emit(t.env, s.type, {});
    expect(t.sent).toEqual([]);
  });

  it("refuses a private target when private targets are not allowed", async () => {
    const { calls } = captureFetch();
    const s = await setup(
      { target_url: "http://127.0.0.1:9/hook" },
      { WEBHOOK_ALLOW_PRIVATE_TARGETS: "false" },
    );
    const { retry, ack } = await consume(s.env, s.deliveryId);
    expect(calls).toEqual([]);
    expect(retry).not.toHaveBeenCalled();
    expect(ack).toHaveBeenCalled();
    const [attempt] = await deliveryLog(s.hook.id);
    expect(attempt.status).toBe("failed");
    expect(attempt.error).toMatch(/private, loopback or link-local/);
  });

  it("records an event uuid once: emitting it again enqueues nothing", async () => {
    const type = await freshEventType();
    await subscribe({ event_type: type, target_url: url() });
    await subscribe({ event_type: type, target_url: url() });
    const t = testEnv();
    const uuid = `evt-${uid()}`;
    expect(await emit(t.env, type, { a: 1 }, uuid)).toBe(uuid);
    expect(await emit(t.env, type, { a: 2 }, uuid)).toBe(uuid);
    expect(t.sent).toHaveLength(2);
    expect(new Set(t.sent.map((m) => m.body.delivery_id)).size).toBe(2);
  });

  it("refuses data that does not match a built-in type's schema, recording nothing", async () => {
    const t = testEnv();
    await expect(emit(t.env, "state.changed", { person_key: "p" })).rejects.toMatchObject({
      code: "bad_request",
    });
    const row = await env.DB.prepare(
      "SELECT count(*) AS n FROM webhook_events WHERE event_type = ?",
    )
      .bind("state.changed")
      .first<{ n: number }>();
    expect(row?.n).toBe(0);
  });

  it("leaves a disabled hook's pending delivery failed with a reason", async () => {
    const { calls } = captureFetch();
    const s = await setup();
    await call("PATCH", `/api/webhooks/${s.hook.id}`, { token: ADMIN, body: { is_active: false } });
    await consume(s.env, s.deliveryId);
    expect(calls).toEqual([]);
    const [attempt] = await deliveryLog(s.hook.id);
    expect(attempt).toMatchObject({ status: "failed", error: "The webhook is disabled" });
  });

  it("runs the hook's registered callback after each attempt", async () => {
    captureFetch(() => new Response("ok"));
    const seen: unknown[][] = [];
    const name = `test_cb_${uid()}`;
    registerCallback(name, (...args) => {
      seen.push(args);
    });
    try {
      const s = await setup({ callback: name });
      await consume(s.env, s.deliveryId);
      expect(seen).toEqual([
        [
          expect.objectContaining({
            webhook_id: s.hook.id,
            attempt: 1,
            status: "succeeded",
            response_status: 200,
          }),
          s.type,
          { hello: "world" },
          { event: { type: s.type, uuid: s.eventUuid }, data: { hello: "world" } },
        ],
      ]);
    } finally {
      unregisterCallback(name);
    }
  });

  it("answers 409 to a redelivery while the delivery is still open", async () => {
    const s = await setup();
    const res = await call(
      "POST",
      `/api/webhooks/${s.hook.id}/deliveries/${s.eventUuid}/redeliver`,
      {
        token: ADMIN,
      },
    );
    expect(res.status).toBe(409);
  });
});

describe("the attempt timeout", () => {
  it("is 15 s by default and in wrangler.toml, else WEBHOOK_TIMEOUT_SECONDS", () => {
    expect(timeoutMs({ WEBHOOK_TIMEOUT_SECONDS: undefined as unknown as string })).toBe(15_000);
    expect(timeoutMs({ WEBHOOK_TIMEOUT_SECONDS: "not a number" })).toBe(15_000);
    expect(timeoutMs({ WEBHOOK_TIMEOUT_SECONDS: "0.2" })).toBe(200);
    // The tests' environment comes from wrangler.toml's [vars].
    expect(env.WEBHOOK_TIMEOUT_SECONDS).toBe("15");
  });
});

describe("the failure count", () => {
  it("resets the failure count on a success", async () => {
    captureFetch((n) => (n === 0 ? fail() : new Response("ok")));
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: url(), max_retries: 0 });
    const t = testEnv();
    await emit(t.env, type, {});
    await emit(t.env, type, {});
    await consume(t.env, t.sent[0]!.body.delivery_id);
    expect(
      (await call("GET", `/api/webhooks/${hook.id}`, { token: ADMIN })).body.consecutive_failures,
    ).toBe(1);
    await consume(t.env, t.sent[1]!.body.delivery_id);
    expect(
      (await call("GET", `/api/webhooks/${hook.id}`, { token: ADMIN })).body.consecutive_failures,
    ).toBe(0);
  });
});
