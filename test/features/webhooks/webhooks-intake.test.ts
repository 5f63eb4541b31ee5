import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { deliverWebhookBatch } from "../../../src/features/webhooks/deliver";
import { ADMIN, call } from "../../helpers/http";
import {
  captureFetch,
  freshEventType,
  subscribe,
  testEnv,
  uid,
  withoutJitter,
} from "../../helpers/webhooks";

afterEach(() => {
  vi.restoreAllMocks();
});

/** What D1 holds of an event: its row, and its deliveries with their log rows. */
async function stored(uuid: string) {
  const event = await env.DB.prepare("SELECT uuid FROM webhook_events WHERE uuid = ?")
    .bind(uuid)
    .first();
  const { results } = await env.DB.prepare(
    `SELECT d.status, d.attempts, (SELECT COUNT(*) FROM webhook_attempts a WHERE a.delivery_id = d.id) AS logged
     FROM webhook_deliveries d WHERE d.event_uuid = ? ORDER BY d.id`,
  )
    .bind(uuid)
    .all<{ status: string; attempts: number; logged: number }>();
  return { recorded: event !== null, deliveries: results };
}

/** Keeps what the emits send to the real Queue instead of sending it (the test consumes it). */
function holdQueueSends() {
  const held: unknown[] = [];
  const send = vi.spyOn(env.WEBHOOK_QUEUE, "send").mockImplementation(async (body) => {
    held.push(body);
    return { metadata: {} } as QueueSendResponse;
  });
  return { held, send };
}

const emitOverHttp = (body: Record<string, unknown>) =>
  call("POST", "/api/webhook-events", { token: ADMIN, body });

/** Runs the consumer on `bodies` as one batch; each message's ack and retry spies. */
async function consumeBodies(testEnvValue: Env, bodies: unknown[]) {
  const batch = createMessageBatch(
    "switchboard-webhooks",
    bodies.map((body) => ({ id: crypto.randomUUID(), timestamp: new Date(), attempts: 1, body })),
  );
  const spies = batch.messages.map((m) => ({
    ack: vi.spyOn(m, "ack"),
    retry: vi.spyOn(m, "retry"),
  }));
  await deliverWebhookBatch(batch, testEnvValue);
  await getQueueResult(batch, createExecutionContext());
  return spies;
}

describe("an emit without an ordering key: queued as it is, recorded by the consumer", () => {
  it("answers 202 once the Queue holds the event; the consumer records it and delivers it in the same pass", async () => {
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: "https://example.com/intake" });
    const { held } = holdQueueSends();
    const event_uuid = `evt-${uid()}`;
    const res = await emitOverHttp({ event_type: type, data: { n: 1 }, event_uuid });
    expect(res.status).toBe(202);
    expect(held).toEqual([
      { event: { uuid: event_uuid, event_type: type, data: '{"n":1}', only_owner: null } },
    ]);
    // Not in D1 yet: the Queue message is the durable copy until the consumer records it.
    expect((await stored(event_uuid)).recorded).toBe(false);

    const { calls } = captureFetch();
    const t = testEnv();
    const [spies] = await consumeBodies(t.env, held);
    expect(calls.map((c) => JSON.parse(c.body).event.uuid)).toEqual([event_uuid]);
    expect(calls[0]?.url).toBe("https://example.com/intake");
    expect(spies?.ack).toHaveBeenCalledTimes(1);
    expect(spies?.retry).not.toHaveBeenCalled();
    // No second Queue hop: the delivery was made by the pass that recorded it.
    expect(t.sent).toEqual([]);
    expect(await stored(event_uuid)).toEqual({
      recorded: true,
      deliveries: [{ status: "succeeded", attempts: 1, logged: 1 }],
    });
    const log = await call("GET", `/api/webhooks/${hook.id}/deliveries`, { token: ADMIN });
    expect(log.body.results.map((r: { status: string }) => r.status)).toEqual(["succeeded"]);
  });

  it("delivers once when the same event comes twice in a batch, and again in a later one", async () => {
    const type = await freshEventType();
    await subscribe({ event_type: type, target_url: "https://example.com/twice" });
    const { held } = holdQueueSends();
    const event_uuid = `evt-${uid()}`;
    for (let i = 0; i < 2; i++) {
      expect((await emitOverHttp({ event_type: type, data: { i }, event_uuid })).status).toBe(202);
    }
    const { calls } = captureFetch();
    const t = testEnv();
    const first = await consumeBodies(t.env, held);
    const again = await consumeBodies(t.env, [held[0]]);
    expect(calls).toHaveLength(1);
    // The first emit's data wins, as with the uuid recorded before the 202.
    expect(JSON.parse(calls[0]?.body ?? "{}").data).toEqual({ i: 0 });
    for (const spies of [...first, ...again]) expect(spies.ack).toHaveBeenCalledTimes(1);
    expect((await stored(event_uuid)).deliveries).toEqual([
      { status: "succeeded", attempts: 1, logged: 1 },
    ]);
  });

  it("records a batch whose data together are too big for one D1 parameter, and delivers each", async () => {
    const type = await freshEventType();
    await subscribe({ event_type: type, target_url: "https://example.com/large" });
    const { held } = holdQueueSends();
    const uuids = Array.from({ length: 24 }, () => `evt-${uid()}`);
    for (const [i, event_uuid] of uuids.entries()) {
      const data = { i, text: "x".repeat(100_000) };
      expect((await emitOverHttp({ event_type: type, data, event_uuid })).status).toBe(202);
    }
    const { calls } = captureFetch();
    const spies = await consumeBodies(testEnv().env, held);
    expect(calls.map((c) => JSON.parse(c.body).event.uuid).sort()).toEqual([...uuids].sort());
    for (const s of spies) expect(s.ack).toHaveBeenCalledTimes(1);
  });

  it("after a crash between recording and the attempt, the retried message delivers once", async () => {
    const type = await freshEventType();
    await subscribe({ event_type: type, target_url: "https://example.com/crash" });
    const { held } = holdQueueSends();
    const event_uuid = `evt-${uid()}`;
    expect((await emitOverHttp({ event_type: type, data: { n: 1 }, event_uuid })).status).toBe(202);
    // The claim's transaction fails once, as when the consumer dies right after recording.
    const batch = env.DB.batch.bind(env.DB);
    let failed = false;
    vi.spyOn(env.DB, "batch").mockImplementation(async (statements) => {
      const claims = statements.some((s) =>
        /update "webhook_deliveries" set "attempts"/i.test(
          (s as unknown as { statement: string }).statement,
        ),
      );
      if (claims && !failed) {
        failed = true;
        throw new Error("D1 unavailable");
      }
      return batch(statements);
    });
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { calls } = captureFetch();
    const t = testEnv();
    const [crashed] = await consumeBodies(t.env, held);
    expect(failed).toBe(true);
    expect(crashed?.retry).toHaveBeenCalledWith({ delaySeconds: 30 });
    expect(calls).toHaveLength(0);
    expect(await stored(event_uuid)).toEqual({
      recorded: true,
      deliveries: [{ status: "pending", attempts: 0, logged: 1 }],
    });

    const [retried] = await consumeBodies(t.env, held);
    expect(retried?.ack).toHaveBeenCalledTimes(1);
    expect(calls).toHaveLength(1);
    expect((await stored(event_uuid)).deliveries).toEqual([
      { status: "succeeded", attempts: 1, logged: 1 },
    ]);
  });

  it("sends a failed first attempt back to the Queue as a delivery message with its retry delay", async () => {
    withoutJitter();
    const type = await freshEventType();
    await subscribe({
      event_type: type,
      target_url: "https://example.com/fails",
      retry_countdown_config: { choice: "fixed", kwargs: { seconds: 7 } },
    });
    const { held } = holdQueueSends();
    const event_uuid = `evt-${uid()}`;
    await emitOverHttp({ event_type: type, data: { n: 1 }, event_uuid });
    captureFetch(() => new Response("down", { status: 500 }));
    const t = testEnv();
    const [spies] = await consumeBodies(t.env, held);
    expect(spies?.ack).toHaveBeenCalledTimes(1);
    const [delivery] = (await stored(event_uuid)).deliveries;
    expect(delivery).toEqual({ status: "retrying", attempts: 1, logged: 2 });
    const row = await env.DB.prepare("SELECT id FROM webhook_deliveries WHERE event_uuid = ?")
      .bind(event_uuid)
      .first<{ id: number }>();
    expect(t.sent).toEqual([{ body: { delivery_id: row?.id }, delaySeconds: 7 }]);
  });
});

describe("emits recorded in D1 before their 202", () => {
  it("records an event with an ordering key before answering: its key's order is the answers' order", async () => {
    const type = await freshEventType();
    await subscribe({ event_type: type, target_url: "https://example.com/keyed", ordered: true });
    const { send } = holdQueueSends();
    const event_uuid = `evt-${uid()}`;
    const res = await emitOverHttp({
      event_type: type,
      data: { n: 1 },
      event_uuid,
      ordering_key: "k1",
    });
    expect(res.status).toBe(202);
    expect(send).not.toHaveBeenCalled();
    expect(await stored(event_uuid)).toEqual({
      recorded: true,
      deliveries: [{ status: "pending", attempts: 0, logged: 1 }],
    });
  });

  it("records an event too big for a Queue message before answering", async () => {
    const type = await freshEventType();
    await subscribe({ event_type: type, target_url: "https://example.com/big" });
    const { send } = holdQueueSends();
    const event_uuid = `evt-${uid()}`;
    // 50,000 three-byte characters: 150 KB of UTF-8, over a message's 128 KB.
    const res = await emitOverHttp({
      event_type: type,
      data: { text: "€".repeat(50_000) },
      event_uuid,
    });
    expect(res.status).toBe(202);
    expect(send).not.toHaveBeenCalled();
    expect((await stored(event_uuid)).recorded).toBe(true);
  });

  it("records the event in D1 when the Queue refuses it, and still answers 202", async () => {
    const type = await freshEventType();
    await subscribe({ event_type: type, target_url: "https://example.com/refused" });
    const send = vi
      .spyOn(env.WEBHOOK_QUEUE, "send")
      .mockRejectedValueOnce(new Error("Queue unavailable"));
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const event_uuid = `evt-${uid()}`;
    const res = await emitOverHttp({ event_type: type, data: { n: 1 }, event_uuid });
    expect(res.status).toBe(202);
    expect(send).toHaveBeenCalledTimes(1);
    expect(await stored(event_uuid)).toMatchObject({
      recorded: true,
      deliveries: [{ logged: 1 }],
    });
  });
});
