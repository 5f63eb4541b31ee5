import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
// The composition root registers the owner's bus notice (as the deployed Worker loads it).
import "../../../src/index";
import { disableAfterMs } from "../../../src/features/webhooks/breaker";
import { deliverWebhookBatch } from "../../../src/features/webhooks/deliver";
import { probeHook } from "../../../src/features/webhooks/probe";
import { findWebhook } from "../../../src/features/webhooks/queries";
import { getDb } from "../../../src/platform/db";
import { newDb, poll } from "../../helpers/bus";
import { ADMIN, call, tokenFor } from "../../helpers/http";
import {
  type Captured,
  captureFetch,
  consume,
  deliveryLog,
  emit,
  fakeClock,
  freshEventType,
  subscribe,
  testEnv,
  uid,
} from "../../helpers/webhooks";

const HOUR = 3600;
const DISABLED = "webhook.endpoint_disabled";

const clock = fakeClock();
const { advance } = clock;

const url = (name: string) => `https://${name}.example.com/${uid()}`;

/** Receivers by URL: each answers with its own status (default 200), and every POST is kept. */
function receivers(statuses: Record<string, number | (() => number)>) {
  const { calls } = captureFetch((_n, req) => {
    const status = statuses[req.url];
    const code = typeof status === "function" ? status() : (status ?? 200);
    return new Response(code === 200 ? "ok" : "nope", { status: code });
  });
  return { to: (target: string): Captured[] => calls.filter((c) => c.url === target) };
}

/** Hooks a test made, deleted after it (storage is shared by the file's tests). */
const made: string[] = [];
afterEach(async () => {
  for (const id of made.splice(0)) await call("DELETE", `/api/webhooks/${id}`, { token: ADMIN });
});

async function hook(body: Record<string, unknown>, token = ADMIN) {
  const created = await subscribe(body, token);
  made.push(created.id);
  return created;
}

/** A user with a hook on a fresh app type, and the admin's hook on the disable event. */
async function setup(userHook: Record<string, unknown> = {}) {
  const userId = `u-${uid()}`;
  const token = await tokenFor(userId, ["webhooks.subscribe:*"]);
  const type = await freshEventType();
  const target = url("user");
  const user = await hook({ event_type: type, target_url: target, ...userHook }, token);
  const adminTarget = url("admin");
  const admin = await hook({ event_type: DISABLED, target_url: adminTarget });
  const busDb = newDb();
  const t = testEnv({ THREADS_BUS_DB: busDb } as Partial<Env>);
  return { userId, token, type, target, user, adminTarget, admin, busDb, ...t };
}

/** Consumes every message the test's queue holds from `from` on, in one batch each; the new count. */
async function drain(t: { env: Env; sent: { body: { delivery_id: number } }[] }, from = 0) {
  let done = from;
  while (done < t.sent.length) {
    const ids = t.sent.slice(done).map((m) => m.body.delivery_id);
    done = t.sent.length;
    await consumeAll(t.env, ids);
  }
  return done;
}

/** One Queue batch of these deliveries. */
async function consumeAll(testEnvValue: Env, ids: number[]) {
  const batch = createMessageBatch(
    "switchboard-webhooks",
    ids.map((id) => ({
      id: crypto.randomUUID(),
      timestamp: new Date(),
      attempts: 1,
      body: { delivery_id: id },
    })),
  );
  const ctx = createExecutionContext();
  await deliverWebhookBatch(batch, testEnvValue);
  await getQueueResult(batch, ctx);
}

const getHook = async (id: string) =>
  (await call("GET", `/api/webhooks/${id}`, { token: ADMIN })).body;

async function disabledEventsOf(hookId: string): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT count(*) AS n FROM webhook_events WHERE event_type = ? AND json_extract(data, '$.hook_id') = ?",
  )
    .bind(DISABLED, hookId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("the breaker: DISABLE_AFTER_HOURS", () => {
  it("is 120 hours unless configured", () => {
    expect(disableAfterMs({ DISABLE_AFTER_HOURS: undefined as unknown as string })).toBe(
      120 * HOUR * 1000,
    );
    expect(disableAfterMs({ DISABLE_AFTER_HOURS: "nope" })).toBe(120 * HOUR * 1000);
    expect(disableAfterMs({ DISABLE_AFTER_HOURS: "2" })).toBe(2 * HOUR * 1000);
    expect(env.DISABLE_AFTER_HOURS).toBe("120");
  });

  it("disables a hook failing for 120 h, once; the admin's hook gets one event, the owner a bus message", async () => {
    const s = await setup({ max_retries: 0 });
    const r = receivers({ [s.target]: 500 });
    await emit(s.env, s.type, { n: 1 });
    await drain(s);
    expect(await getHook(s.user.id)).toMatchObject({ is_active: true, consecutive_failures: 1 });
    advance(119 * HOUR);
    await emit(s.env, s.type, { n: 2 });
    let done = await drain(s);
    expect(await getHook(s.user.id)).toMatchObject({ is_active: true, consecutive_failures: 2 });
    advance(HOUR);
    // Two failures in one batch both past the limit: one disable, one event.
    await emit(s.env, s.type, { n: 3 });
    await emit(s.env, s.type, { n: 4 });
    const failing = s.sent.slice(done).map((m) => m.body.delivery_id);
    done = s.sent.length;
    await consumeAll(s.env, failing);
    const disabled = await getHook(s.user.id);
    expect(disabled).toMatchObject({ is_active: false });
    expect(disabled.disabled_reason).toBe("Every delivery failed for 120 hours");
    expect(await disabledEventsOf(s.user.id)).toBe(1);
    // The event was dispatched with the disable: one message, to the admin's hook.
    await drain(s, done);
    const got = r.to(s.adminTarget);
    expect(got).toHaveLength(1);
    expect(JSON.parse(got[0]!.body)).toEqual({
      event: { type: DISABLED, uuid: expect.any(String) },
      data: {
        hook_id: s.user.id,
        target_url: s.target,
        reason: "Every delivery failed for 120 hours",
      },
    });
    expect(got[0]!.headers["x-whisperer-event"]).toBe(DISABLED);
    expect((await deliveryLog(s.admin.id)).map((a) => a.status)).toEqual(["succeeded"]);
    // The owner's channel (the namespace of the thread nudges) holds the notice.
    const owner = await tokenFor(s.userId);
    const res = await poll(s.busDb, owner, { last_message: "not-an-id", channels: [] });
    expect(res.body).toMatchObject({
      channel: `user:${s.userId}`,
      message: {
        type: "webhook_endpoint_disabled",
        hook_id: s.user.id,
        event_type: s.type,
        target_url: s.target,
        reason: "Every delivery failed for 120 hours",
      },
    });
    // New events are no longer delivered to it.
    const before = s.sent.length;
    await emit(s.env, s.type, { n: 5 });
    expect(s.sent.length).toBe(before);
  });

  it("counts retried attempts in the failing run, and a success ends it", async () => {
    let answer = 500;
    const s = await setup({ retry_countdown_config: { choice: "fixed", kwargs: { seconds: 60 } } });
    receivers({ [s.target]: () => answer });
    await emit(s.env, s.type, {});
    const id = s.sent[0]!.body.delivery_id;
    await consume(s.env, id);
    advance(100 * HOUR);
    answer = 200;
    await consume(s.env, id);
    expect(await getHook(s.user.id)).toMatchObject({ is_active: true, consecutive_failures: 0 });
    // A new run starts at the next failure: 30 h later it is 30 h old, not 130.
    answer = 500;
    advance(30 * HOUR);
    await emit(s.env, s.type, {});
    await consume(s.env, s.sent[1]!.body.delivery_id);
    advance(30 * HOUR);
    await consume(s.env, s.sent[1]!.body.delivery_id);
    expect(await getHook(s.user.id)).toMatchObject({ is_active: true });
    expect(await disabledEventsOf(s.user.id)).toBe(0);
  });

  it("disables at once on 410, with the event and the bus message", async () => {
    const s = await setup();
    const r = receivers({ [s.target]: 410 });
    await emit(s.env, s.type, {});
    await drain(s);
    const disabled = await getHook(s.user.id);
    expect(disabled).toMatchObject({
      is_active: false,
      disabled_reason: "The target answered 410 Gone",
    });
    expect(await disabledEventsOf(s.user.id)).toBe(1);
    const got = r.to(s.adminTarget);
    expect(got.map((c) => JSON.parse(c.body).data)).toEqual([
      { hook_id: s.user.id, target_url: s.target, reason: "The target answered 410 Gone" },
    ]);
    const res = await poll(s.busDb, s.token, { last_message: "not-an-id", channels: [] });
    expect(res.body.message).toMatchObject({
      type: "webhook_endpoint_disabled",
      hook_id: s.user.id,
      reason: "The target answered 410 Gone",
    });
  });

  it("does not loop: a disabled endpoint_disabled hook never gets its own event", async () => {
    const s = await setup();
    const gone = url("gone");
    const goneHook = await hook({ event_type: DISABLED, target_url: gone });
    const r = receivers({ [s.target]: 410, [gone]: 410 });
    await emit(s.env, s.type, {});
    await drain(s);
    // The user's hook went: its event went to both admin hooks; the 410 one went too, and its
    // event only to the healthy one. Then nothing more.
    expect((await getHook(goneHook.id)).is_active).toBe(false);
    expect(r.to(gone).map((c) => JSON.parse(c.body).data.hook_id)).toEqual([s.user.id]);
    expect(
      r
        .to(s.adminTarget)
        .map((c) => JSON.parse(c.body).data.hook_id)
        .sort(),
    ).toEqual([s.user.id, goneHook.id].sort());
    expect(await disabledEventsOf(goneHook.id)).toBe(1);
    expect(await disabledEventsOf(s.user.id)).toBe(1);
  });

  it("lists webhook.endpoint_disabled among the built-in event types, admin-only", async () => {
    const res = await call("GET", "/api/webhooks/event-types?limit=200", { token: ADMIN });
    const type = res.body.results.find((t: any) => t.event_type === DISABLED);
    expect(type).toMatchObject({ builtin: true, description: expect.stringMatching(/disabled/) });
    expect(type.schema.required).toEqual(["hook_id", "target_url", "reason"]);
    const user = await tokenFor(`u-${uid()}`, ["webhooks.subscribe:*"]);
    const refused = await call("POST", "/api/webhooks", {
      token: user,
      body: { event_type: DISABLED, target_url: url("x") },
    });
    expect(refused.status).toBe(403);
  });
});

describe("the half-open probe", () => {
  /** A user's hook disabled by a 410 after `events` deliveries gave up; the test's receivers. */
  async function disabledHook(events: number) {
    let answer = 410;
    const s = await setup({ max_retries: 0 });
    const r = receivers({ [s.target]: () => answer });
    const uuids: string[] = [];
    for (let i = 0; i < events; i++) uuids.push(await emit(s.env, s.type, { i }));
    // The first gets the 410; the rest are abandoned when their messages find the hook disabled.
    await consume(s.env, s.sent[0]!.body.delivery_id);
    await drain(s, 1);
    expect((await getHook(s.user.id)).is_active).toBe(false);
    return { ...s, r, uuids, answer: (code: number) => (answer = code) };
  }

  it("on success sends the oldest, enables the hook and releases the backlog once, in emit order", async () => {
    const s = await disabledHook(3);
    expect(s.r.to(s.target)).toHaveLength(1);
    s.answer(200);
    const from = s.sent.length;
    // Called as the route does, with the test's queue, so the released messages are seen.
    const row = await findWebhook(getDb(env.DB), "all", s.user.id);
    const result = await probeHook(s.env, row!);
    expect(result).toMatchObject({
      succeeded: true,
      is_active: true,
      event_uuid: s.uuids[0],
      event_type: s.type,
      attempt: 2,
      response_status: 200,
      error: null,
      released: 2,
    });
    expect(await getHook(s.user.id)).toMatchObject({
      is_active: true,
      disabled_reason: null,
      consecutive_failures: 0,
    });
    const released = s.sent.slice(from).map((m) => m.body.delivery_id);
    expect(released).toEqual([s.sent[1]!.body.delivery_id, s.sent[2]!.body.delivery_id]);
    await drain(s, from);
    const posted = s.r.to(s.target).map((c) => c.headers["webhook-id"]);
    expect(posted).toEqual([s.uuids[0], s.uuids[0], s.uuids[1], s.uuids[2]]);
    // Released once: a second probe is refused (the hook is active), nothing is sent again.
    const again = await call("POST", `/api/webhooks/${s.user.id}/probe`, { token: s.token });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("conflict");
    await drain(s, s.sent.length);
    expect(s.r.to(s.target)).toHaveLength(4);
  });

  it("on failure keeps the hook disabled, logs the attempt and releases nothing", async () => {
    const s = await disabledHook(2);
    s.answer(500);
    const from = s.sent.length;
    const res = await call("POST", `/api/webhooks/${s.user.id}/probe`, { token: ADMIN });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      succeeded: false,
      is_active: false,
      event_uuid: s.uuids[0],
      response_status: 500,
      error: "HTTP 500",
      released: 0,
    });
    expect(s.sent.length).toBe(from);
    expect(await getHook(s.user.id)).toMatchObject({ is_active: false });
    const log = await deliveryLog(s.user.id);
    expect(log.filter((a) => a.event_uuid === s.uuids[0]).map((a) => a.status)).toEqual([
      "failed",
      "failed",
    ]);
    // Failing again while disabled announces nothing more.
    expect(await disabledEventsOf(s.user.id)).toBe(1);
    // A later probe that succeeds still finds the same oldest delivery.
    s.answer(200);
    const row = await findWebhook(getDb(env.DB), "all", s.user.id);
    const ok = await probeHook(s.env, row!);
    expect(ok).toMatchObject({ succeeded: true, event_uuid: s.uuids[0], released: 1 });
  });

  it("pings when nothing waits, and enables on a 2xx", async () => {
    const s = await setup();
    const r = receivers({ [s.target]: 200 });
    await call("PATCH", `/api/webhooks/${s.user.id}`, {
      token: s.token,
      body: { is_active: false },
    });
    const res = await call("POST", `/api/webhooks/${s.user.id}/probe`, { token: s.token });
    expect(res.body).toMatchObject({
      succeeded: true,
      is_active: true,
      event_type: "webhook.probe",
      attempt: null,
      released: 0,
    });
    const [ping] = r.to(s.target);
    expect(JSON.parse(ping!.body)).toEqual({
      event: { type: "webhook.probe", uuid: res.body.event_uuid },
      data: { hook_id: s.user.id },
    });
    expect(ping!.headers["webhook-signature"]).toMatch(/^v1,/);
    expect(await deliveryLog(s.user.id)).toEqual([]);
  });

  it("is the owner's or the admin's: another user gets 404, an active hook 409", async () => {
    const s = await setup();
    receivers({});
    const other = await tokenFor(`u-${uid()}`, ["webhooks.subscribe:*"]);
    const foreign = await call("POST", `/api/webhooks/${s.user.id}/probe`, { token: other });
    expect(foreign.status).toBe(404);
    const active = await call("POST", `/api/webhooks/${s.user.id}/probe`, { token: s.token });
    expect(active.status).toBe(409);
  });

  it("PATCH is_active: true enables a disabled hook without releasing its backlog, and starts a new run", async () => {
    const s = await disabledHook(2);
    advance(121 * HOUR);
    const from = s.sent.length;
    const res = await call("PATCH", `/api/webhooks/${s.user.id}`, {
      token: ADMIN,
      body: { is_active: true },
    });
    expect(res.body).toMatchObject({ is_active: true, disabled_reason: null });
    expect(s.sent.length).toBe(from);
    expect(s.r.to(s.target)).toHaveLength(1);
    // The old run (121 h) is over: the next failure starts a new one instead of disabling.
    s.answer(500);
    await emit(s.env, s.type, {});
    await drain(s, from);
    expect(await getHook(s.user.id)).toMatchObject({ is_active: true });
  });
});
