import { describe, expect, it, vi } from "vitest";
import { claimAttempt, loadDelivery } from "../../src/features/webhooks/queries";
import { scanUndelivered } from "../../src/features/webhooks/scan";
import { getDb } from "../../src/platform/db";
import { ADMIN, call } from "../helpers/http";
import {
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
} from "../helpers/webhooks";

/**
 * The webhook fault table (contract §6) in one place: what a receiver or the platform does
 * wrong, and what delivery does about it. Each row ends with the delivery either succeeded
 * exactly once (receiver healthy again) or refused as the contract says. The queue consumer
 * is driven directly; the clock is faked (Date only) to reach each retry.
 *
 * Elsewhere: private targets and DNS (test/features/webhooks/webhooks-targets.test.ts, part A's SSRF suite),
 * countdown choices, Retry-After on 429, 12 h re-enqueueing, auto-disable after 50 failed events
 * (test/features/webhooks/webhooks-delivery.test.ts), the real Queue round trip (test/features/webhooks/webhooks-roundtrip.test.ts).
 */

type Answer = (init: RequestInit | undefined) => Response | Promise<Response>;

const ok: Answer = () => new Response("ok", { status: 200 });
const hang: Answer = (init) =>
  new Promise<Response>((_resolve, reject) => {
    init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
  });
const reset: Answer = () => {
  throw new TypeError("Network connection lost.");
};
const status =
  (code: number, headers: Record<string, string> = {}): Answer =>
  () =>
    new Response(`status ${code}`, { status: code, headers });

/** The receiver: answers by call number; every request it got is kept. */
function receiver(answers: Answer[]) {
  const requests: { url: string; webhookId: string | null; redirect?: RequestInit["redirect"] }[] =
    [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input as RequestInfo, init as RequestInit);
    requests.push({
      url: req.url,
      webhookId: req.headers.get("webhook-id"),
      redirect: init?.redirect,
    });
    const answer = answers[Math.min(requests.length - 1, answers.length - 1)] as Answer;
    return answer(init);
  });
  return requests;
}

const { advance } = fakeClock();

const RETRY_SECONDS = 7;

/** A hook with a fixed 7 s countdown and an event recorded for it. */
async function setup(overrides: Partial<Env> = {}, hook: Record<string, unknown> = {}) {
  const type = await freshEventType();
  const created = await subscribe({
    event_type: type,
    target_url: `https://receiver.example/${uid()}`,
    retry_countdown_config: { choice: "fixed", kwargs: { seconds: RETRY_SECONDS } },
    max_retries: 3,
    ...hook,
  });
  const t = testEnv({ WEBHOOK_TIMEOUT_SECONDS: "0.2", ...overrides });
  const eventUuid = await emit(t.env, type, { order: uid() });
  return {
    ...t,
    type,
    hook: created,
    eventUuid,
    deliveryId: t.sent[0]?.body.delivery_id as number,
  };
}

interface Row {
  fault: string;
  answer: Answer;
  /** What the first attempt's log row says. */
  logged: { response_status: number | null; error: RegExp };
  /** Seconds until the retry, or null when the contract refuses to retry. */
  retryIn: number | null;
}

const TABLE: Row[] = [
  {
    fault: "hangs past WEBHOOK_TIMEOUT_SECONDS",
    answer: hang,
    logged: { response_status: null, error: /^timed out after 200 ms$/ },
    retryIn: RETRY_SECONDS,
  },
  {
    fault: "resets the connection",
    answer: reset,
    logged: { response_status: null, error: /^request failed: Network connection lost/ },
    retryIn: RETRY_SECONDS,
  },
  {
    fault: "answers 500",
    answer: status(500),
    logged: { response_status: 500, error: /^HTTP 500$/ },
    retryIn: RETRY_SECONDS,
  },
  {
    fault: "answers 503 with Retry-After: 120",
    answer: status(503, { "Retry-After": "120" }),
    logged: { response_status: 503, error: /^HTTP 503$/ },
    retryIn: 120,
  },
  {
    fault: "answers 301 to a private address (not followed)",
    answer: status(301, { Location: "http://169.254.169.254/latest/meta-data/" }),
    logged: { response_status: 301, error: /^redirect not followed$/ },
    retryIn: RETRY_SECONDS,
  },
  {
    fault: "answers 410 Gone (hook disabled at once)",
    answer: status(410),
    logged: { response_status: 410, error: /^HTTP 410$/ },
    retryIn: null,
  },
];

describe("faults: webhook receivers", () => {
  for (const row of TABLE) {
    it(`a receiver that ${row.fault}`, async () => {
      withoutJitter();
      const requests = receiver([row.answer, ok]);
      const s = await setup();
      const first = await consume(s.env, s.deliveryId);
      const attempt = (await deliveryLog(s.hook.id)).find((r) => r.attempt === 1);
      expect(attempt).toMatchObject({
        attempt: 1,
        status: "failed",
        ...row.logged,
        error: expect.stringMatching(row.logged.error),
      });
      // Only the target itself was asked; a redirect is never followed anywhere.
      expect(requests.map((r) => [r.url, r.redirect])).toEqual([[s.hook.target_url, "manual"]]);

      if (row.retryIn === null) {
        expect(first.retry).not.toHaveBeenCalled();
        expect(first.ack).toHaveBeenCalled();
        const hook = await call("GET", `/api/webhooks/${s.hook.id}`, { token: ADMIN });
        expect(hook.body.is_active).toBe(false);
        const later = testEnv();
        await emit(later.env, s.type, { after: true });
        expect(later.sent).toEqual([]);
        return;
      }
      expect(delayOf(first.retry)).toBe(row.retryIn);
      advance(row.retryIn);
      const second = await consume(s.env, s.deliveryId);
      expect(second.ack).toHaveBeenCalled();
      expect(second.retry).not.toHaveBeenCalled();
      const log = await deliveryLog(s.hook.id);
      expect(log.map((r) => [r.attempt, r.status])).toEqual([
        [2, "succeeded"],
        [1, "failed"],
      ]);
      // Both attempts carry the same webhook-id: a receiver can de-duplicate.
      expect(requests.map((r) => r.webhookId)).toEqual([s.eventUuid, s.eventUuid]);
    });
  }

  it("a receiver that keeps failing: retried max_retries times, then failed and kept", async () => {
    const requests = receiver([status(500)]);
    const s = await setup({}, { max_retries: 2 });
    for (const _ of [1, 2]) {
      const { retry } = await consume(s.env, s.deliveryId);
      advance(delayOf(retry));
    }
    const last = await consume(s.env, s.deliveryId);
    expect(last.retry).not.toHaveBeenCalled();
    expect(requests).toHaveLength(3);
    const log = await deliveryLog(s.hook.id);
    expect(log.map((r) => r.status)).toEqual(["failed", "failed", "failed"]);
    const again = await consume(s.env, s.deliveryId);
    expect(again.ack).toHaveBeenCalled();
    expect(requests).toHaveLength(3);
  });
});

describe("faults: the platform", () => {
  it("a crash between 'event recorded' and 'enqueued': the scanner sends it, once", async () => {
    const requests = receiver([ok]);
    const type = await freshEventType();
    const hook = await subscribe({
      event_type: type,
      target_url: `https://receiver.example/${uid()}`,
    });
    let failures = 1;
    const flaky = testEnv();
    const queue = flaky.env.WEBHOOK_QUEUE;
    const sendBatch = queue.sendBatch.bind(queue);
    queue.sendBatch = async (messages, options) => {
      if (failures-- > 0) throw new Error("queue unavailable");
      return sendBatch(messages, options);
    };
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const eventUuid = await emit(flaky.env, type, { crashed: true });
    expect(flaky.sent).toEqual([]);
    const [pending] = await deliveryLog(hook.id);
    expect(pending).toMatchObject({ event_uuid: eventUuid, status: "pending" });

    const ours = await deliveryIdOf(hook.id, eventUuid);
    const cron = testEnv();
    advance(6 * 60);
    await scanUndelivered(cron.env);
    await scanUndelivered(cron.env);
    // Picked up by the first scan only.
    expect(cron.sent.filter((m) => m.body.delivery_id === ours)).toHaveLength(1);
    await consume(cron.env, ours);
    expect(requests.map((r) => r.webhookId)).toEqual([eventUuid]);
    expect((await deliveryLog(hook.id))[0]).toMatchObject({ attempt: 1, status: "succeeded" });
  });

  it("a consumer that dies mid-attempt: the lease runs out and the scanner retries it", async () => {
    const requests = receiver([ok]);
    const s = await setup();
    const db = getDb(s.env.DB);
    const ctx = await loadDelivery(db, s.deliveryId);
    // The attempt is claimed, then the Worker is gone before it records anything.
    expect(await claimAttempt(db, ctx!.delivery, Date.now() + 1_000, Date.now() + 60_200)).toBe(
      true,
    );
    const cron = testEnv();
    advance(60);
    await scanUndelivered(cron.env);
    expect(cron.sent.map((m) => m.body.delivery_id)).not.toContain(s.deliveryId);
    advance(6 * 60);
    await scanUndelivered(cron.env);
    expect(cron.sent.map((m) => m.body.delivery_id)).toContain(s.deliveryId);
    await consume(cron.env, s.deliveryId);
    expect(requests.map((r) => r.webhookId)).toEqual([s.eventUuid]);
    const [attempt] = await deliveryLog(s.hook.id);
    expect(attempt).toMatchObject({ attempt: 2, status: "succeeded" });
  });

  it("the Queue delivering one message twice at once: one POST", async () => {
    const requests = receiver([ok]);
    const s = await setup();
    await Promise.all([consume(s.env, s.deliveryId), consume(s.env, s.deliveryId)]);
    expect(requests).toHaveLength(1);
    expect((await deliveryLog(s.hook.id)).map((r) => r.status)).toEqual(["succeeded"]);
  });
});

async function deliveryIdOf(hookId: string, eventUuid: string): Promise<number> {
  const { env } = testEnv();
  const row = await env.DB.prepare(
    "SELECT id FROM webhook_deliveries WHERE webhook_id = ? AND event_uuid = ?",
  )
    .bind(hookId, eventUuid)
    .first<{ id: number }>();
  if (!row) throw new Error(`no delivery of ${eventUuid} to ${hookId}`);
  return row.id;
}
