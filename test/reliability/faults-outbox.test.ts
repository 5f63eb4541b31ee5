import {
  abortAllDurableObjects,
  createExecutionContext,
  createScheduledController,
  env,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { busStub } from "../../src/features/bus/bus-channel";
import { ADMIN, call } from "../helpers/http";
import { createThread, party } from "../helpers/threads";
import { captureFetch, freshEventType, subscribe, uid } from "../helpers/webhooks";
import worker from "../helpers/worker";

/**
 * The outbox's fault table, one source per row: cut between a stored write and its dispatch
 * (the Queue send throws, D1 refuses the event's write, the Durable Object is aborted), retry as
 * a client would, run the backstop (the cron trigger, the room's alarm), and each event is
 * recorded and delivered exactly once: one event row, one delivery per hook, one attempt, one
 * POST to the receiver. Everything runs through the real Worker, the real Queue and local D1;
 * only the receiver (`fetch`) is captured and the faults are injected into the real bindings.
 */

afterEach(() => {
  vi.restoreAllMocks();
});

/** Polls until `check` passes (the real Queue delivers within about a second here). */
async function eventually<T>(what: string, check: () => Promise<T>, timeoutMs = 8_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      return await check();
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`timed out waiting for ${what}: ${String(lastError)}`);
}

/** The Queue's next `sendBatch` throws, as when the Queue is down; later ones go through. */
function queueDownOnce() {
  return vi
    .spyOn(env.WEBHOOK_QUEUE, "sendBatch")
    .mockRejectedValueOnce(new Error("Queue unavailable"));
}

/** The Queue refuses the next event message and the next batch of deliveries: it is down. */
function queueDownForAnEmit() {
  const send = vi
    .spyOn(env.WEBHOOK_QUEUE, "send")
    .mockRejectedValueOnce(new Error("Queue unavailable"));
  return { send, sendBatch: queueDownOnce() };
}

/**
 * The next D1 batch that writes a webhook event fails, as when D1 is unreachable just then;
 * every other batch, and later ones, go through. Spied on the real binding: D1 stays real.
 */
function eventWriteFailsOnce(): { failed: () => boolean } {
  const batch = env.DB.batch.bind(env.DB);
  let failed = false;
  vi.spyOn(env.DB, "batch").mockImplementation(async (statements) => {
    const writesEvent = statements.some((s) =>
      /insert into "webhook_events"/i.test((s as unknown as { statement: string }).statement),
    );
    if (writesEvent && !failed) {
      failed = true;
      throw new Error("D1 unavailable");
    }
    return batch(statements);
  });
  return { failed: () => failed };
}

/**
 * The cron trigger as Cloudflare fires it, every minute: its next tick takes whatever a crash
 * left (no grace), so nothing waits more than 60 s.
 */
async function runCron(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
}

/** A hook of the admin's for `eventType`, at a receiver URL of its own. */
async function hookFor(eventType: string): Promise<{ id: string; url: string }> {
  const url = `https://receiver.example/${uid()}`;
  const hook = await subscribe({ event_type: eventType, target_url: url });
  return { id: hook.id, url };
}

interface Counts {
  events: number;
  deliveries: number;
  attempts: number;
}

/** What D1 holds for one event and one hook. */
async function recorded(eventUuid: string, hookId: string): Promise<Counts> {
  const row = await env.DB.prepare(
    `SELECT
       (SELECT count(*) FROM webhook_events WHERE uuid = ?1) AS events,
       (SELECT count(*) FROM webhook_deliveries WHERE event_uuid = ?1 AND webhook_id = ?2) AS deliveries,
       (SELECT count(*) FROM webhook_attempts WHERE event_uuid = ?1 AND webhook_id = ?2) AS attempts`,
  )
    .bind(eventUuid, hookId)
    .first<Counts>();
  return { events: row!.events, deliveries: row!.deliveries, attempts: row!.attempts };
}

/**
 * Waits for the delivery of `eventUuid` to `hook` to succeed, then checks it was the only one:
 * one event, one delivery, one attempt, one POST to the receiver.
 */
async function deliveredOnce(
  calls: { url: string; headers: Record<string, string> }[],
  eventUuid: string,
  hook: { id: string; url: string },
) {
  await eventually("the delivery", async () => {
    const row = await env.DB.prepare(
      "SELECT status FROM webhook_deliveries WHERE event_uuid = ? AND webhook_id = ?",
    )
      .bind(eventUuid, hook.id)
      .first<{ status: string }>();
    expect(row?.status).toBe("succeeded");
  });
  // A second delivery of a duplicate message would land within the Queue's batch timeout.
  await new Promise((r) => setTimeout(r, 1_500));
  expect(await recorded(eventUuid, hook.id)).toEqual({ events: 1, deliveries: 1, attempts: 1 });
  const posts = calls.filter((c) => c.url === hook.url && c.headers["webhook-id"] === eventUuid);
  expect(posts).toHaveLength(1);
}

/** The uuid of the one `thread.message_created` event of message `messageId`. */
async function messageEvent(messageId: number): Promise<string> {
  const events = await env.DB.prepare(
    "SELECT uuid FROM webhook_events WHERE event_type = 'thread.message_created' AND json_extract(data, '$.message_id') = ?",
  )
    .bind(messageId)
    .all<{ uuid: string }>();
  expect(events.results).toHaveLength(1);
  return events.results[0]!.uuid;
}

/** The one `bus.notification` event announcing a notify to `user`. */
async function notificationEvent(user: string): Promise<string> {
  const events = await env.DB.prepare(
    "SELECT uuid FROM webhook_events WHERE event_type = 'bus.notification' AND json_extract(data, '$.channel') = ?",
  )
    .bind(`user:${user}`)
    .all<{ uuid: string }>();
  expect(events.results).toHaveLength(1);
  return events.results[0]!.uuid;
}

/** How many messages the namespace's room holds on `user`'s channel. */
function userMessages(db: string, user: string): Promise<number> {
  return runInDurableObject(
    busStub(env, db),
    (_room, state) =>
      state.storage.sql
        .exec<{ n: number }>(
          "SELECT count(*) AS n FROM bus_messages WHERE channel = ?",
          `user:${user}`,
        )
        .one().n,
  );
}

describe("the outbox after a cut between the write and the dispatch", () => {
  it("app emits: the Queue send throws, the client retries, the cron sends it once", async () => {
    const { calls } = captureFetch();
    const type = await freshEventType();
    const hook = await hookFor(type);
    const queue = queueDownForAnEmit();
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const event_uuid = `evt-${uid()}`;
    const emitIt = () =>
      call("POST", "/api/webhook-events", {
        token: ADMIN,
        body: { event_type: type, data: { n: 1 }, event_uuid },
        headers: { "Idempotency-Key": `emit-${event_uuid}` },
      });
    expect((await emitIt()).status).toBe(202);
    // The event message was refused, so the event was recorded first; then its dispatch failed.
    expect(queue.send).toHaveBeenCalledTimes(1);
    expect(queue.sendBatch).toHaveBeenCalledTimes(1);
    expect(await recorded(event_uuid, hook.id)).toEqual({ events: 1, deliveries: 1, attempts: 1 });
    expect((await emitIt()).status).toBe(202);
    await runCron();
    await deliveredOnce(calls, event_uuid, hook);
  });

  it("threads: the Queue send throws and the room is aborted; the post retried with its key, the cron sends it once", async () => {
    const { calls } = captureFetch();
    const hook = await hookFor("thread.message_created");
    const ada = await party("ada");
    const id = await createThread(ada);
    const queue = queueDownOnce();
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const key = `post-${uid()}`;
    const postIt = () =>
      call("POST", `/api/threads/${id}/messages`, {
        token: ada.token,
        body: { text: "hello" },
        headers: { "Idempotency-Key": key },
      });
    const first = await postIt();
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(queue).toHaveBeenCalled();
    const uuid = await messageEvent(first.body.id);
    expect(await recorded(uuid, hook.id)).toEqual({ events: 1, deliveries: 1, attempts: 1 });
    await abortAllDurableObjects();
    const again = await postIt();
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    await runCron();
    await deliveredOnce(calls, uuid, hook);
  });

  it("threads: D1 refuses the event's write; the post is retried and the message stored and announced once", async () => {
    const { calls } = captureFetch();
    const hook = await hookFor("thread.message_created");
    const ada = await party("ada");
    const id = await createThread(ada);
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const key = `post-${uid()}`;
    const postIt = () =>
      call("POST", `/api/threads/${id}/messages`, {
        token: ada.token,
        body: { text: "once" },
        headers: { "Idempotency-Key": key },
      });
    const fault = eventWriteFailsOnce();
    let res = await postIt();
    expect(fault.failed()).toBe(true);
    for (let i = 0; res.status >= 500 && i < 3; i++) res = await postIt();
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const stored = await env.DB.prepare("SELECT id FROM thread_messages WHERE thread_id = ?")
      .bind(id)
      .all<{ id: number }>();
    expect(stored.results.map((m) => m.id)).toEqual([res.body.id]);
    await deliveredOnce(calls, await messageEvent(res.body.id), hook);
  });

  it("bus notify: D1 refuses the event and the room is aborted; published once, its alarm sends the event once", async () => {
    const { calls } = captureFetch();
    const hook = await hookFor("bus.notification");
    const db = `db-${uid()}`;
    const user = `u-${uid()}`;
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const fault = eventWriteFailsOnce();
    const notify = () =>
      call("POST", `/api/bus/${db}/notify`, {
        token: ADMIN,
        body: { title: "Hello", body: "once", user },
      });
    // A client retries what failed; a notify whose message is stored does not fail.
    let res = await notify();
    expect(fault.failed()).toBe(true);
    for (let i = 0; res.status >= 500 && i < 3; i++) res = await notify();
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(await userMessages(db, user)).toBe(1);
    await abortAllDurableObjects();
    // The room's backstop: the alarm it set before the write.
    expect(await runDurableObjectAlarm(busStub(env, db))).toBe(true);
    await deliveredOnce(calls, await notificationEvent(user), hook);
    expect(await userMessages(db, user)).toBe(1);
  });

  it("bus notify: the Queue send throws after the event is recorded; the cron sends it once", async () => {
    const { calls } = captureFetch();
    const hook = await hookFor("bus.notification");
    const db = `db-${uid()}`;
    const user = `u-${uid()}`;
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const queue = queueDownOnce();
    const res = await call("POST", `/api/bus/${db}/notify`, {
      token: ADMIN,
      body: { title: "Hello", body: "queue down", user },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(queue).toHaveBeenCalledTimes(1);
    const uuid = await notificationEvent(user);
    await runCron();
    await deliveredOnce(calls, uuid, hook);
    expect(await userMessages(db, user)).toBe(1);
  });
});
