import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { insertAppEventType } from "../../../src/features/webhooks/queries";
import { getDb } from "../../../src/platform/db";
import { ADMIN, call } from "../../helpers/http";
import { deliveryLog, emit, freshEventType, subscribe, testEnv, uid } from "../../helpers/webhooks";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Every delivery row of a hook, with its first log row's status. */
async function deliveriesOf(hookId: string) {
  const { results } = await env.DB.prepare(
    `SELECT d.event_uuid, a.status AS first_log FROM webhook_deliveries d
     LEFT JOIN webhook_attempts a ON a.delivery_id = d.id AND a.attempt = 1
     WHERE d.webhook_id = ? ORDER BY d.id`,
  )
    .bind(hookId)
    .all<{ event_uuid: string; first_log: string | null }>();
  return results;
}

const emitOverHttp = (eventType: string, eventUuid: string, i: number) =>
  call("POST", "/api/webhook-events", {
    token: ADMIN,
    body: { event_type: eventType, data: { i }, event_uuid: eventUuid },
  });

describe("emitting webhook events", () => {
  it("finds a type registered after an emit refused it, and one another isolate registered", async () => {
    const byRoute = `test.${uid()}`;
    expect((await emitOverHttp(byRoute, uid(), 0)).status).toBe(400);
    const registered = await call("POST", "/api/webhooks/event-types", {
      token: ADMIN,
      body: { event_type: byRoute, description: "registered after a refused emit" },
    });
    expect(registered.status).toBe(201);
    expect((await emitOverHttp(byRoute, uid(), 1)).status).toBe(202);

    // Written straight to D1, as a registration handled by another isolate would be.
    const elsewhere = `test.${uid()}`;
    await expect(emit(testEnv().env, elsewhere, {})).rejects.toMatchObject({ status: 400 });
    expect(await insertAppEventType(getDb(env.DB), elsewhere, "from another isolate")).toBe(true);
    const t = testEnv();
    await emit(t.env, elsewhere, {});
  });

  it("records concurrent emits together, each event and its deliveries before answering", async () => {
    const type = await freshEventType();
    const hooks = await Promise.all(
      ["a", "b"].map((p) =>
        subscribe({ event_type: type, target_url: `https://example.com/${p}` }),
      ),
    );
    const t = testEnv();
    const batch = vi.spyOn(env.DB, "batch");
    const uuids = Array.from({ length: 10 }, () => crypto.randomUUID().replaceAll("-", ""));
    await Promise.all(uuids.map((uuid, i) => emit(t.env, type, { i }, uuid)));

    // The first emit writes alone; the nine that arrive while it is in flight share one batch.
    expect(batch.mock.calls.length).toBeLessThanOrEqual(2);
    for (const hook of hooks) {
      const rows = await deliveriesOf(hook.id);
      expect(rows.map((r) => r.event_uuid).sort()).toEqual([...uuids].sort());
      expect(rows.every((r) => r.first_log === "pending")).toBe(true);
    }
    const sentIds = t.sent.map((m) => m.body.delivery_id);
    expect(sentIds).toHaveLength(20);
    expect(new Set(sentIds).size).toBe(20);
  });

  it("records and enqueues a uuid emitted twice in the same group once", async () => {
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: "https://example.com/twice" });
    const t = testEnv();
    const uuid = crypto.randomUUID().replaceAll("-", "");
    const answers = await Promise.all([
      emit(t.env, type, { first: true }),
      emit(t.env, type, { n: 1 }, uuid),
      emit(t.env, type, { n: 2 }, uuid),
    ]);
    expect(answers.slice(1)).toEqual([uuid, uuid]);
    const rows = await deliveriesOf(hook.id);
    expect(rows.filter((r) => r.event_uuid === uuid)).toHaveLength(1);
    expect(t.sent).toHaveLength(2);
    const event = await env.DB.prepare("SELECT data FROM webhook_events WHERE uuid = ?")
      .bind(uuid)
      .first<{ data: string }>();
    expect(JSON.parse(event?.data ?? "null")).toEqual({ n: 1 });
  });

  it("answers concurrent keyed HTTP emits once each is recorded (requests share a write)", async () => {
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: "https://example.com/http" });
    const uuids = Array.from({ length: 12 }, () => crypto.randomUUID());
    // With an ordering key an emit is recorded before its 202 (without one it is queued first).
    const answers = await Promise.all(
      uuids.map((uuid, i) =>
        call("POST", "/api/webhook-events", {
          token: ADMIN,
          body: { event_type: type, data: { i }, event_uuid: uuid, ordering_key: `k${i}` },
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(uuids.map(() => 202));
    const rows = await deliveriesOf(hook.id);
    expect(rows.map((r) => r.event_uuid).sort()).toEqual([...uuids].sort());
    expect((await deliveryLog(hook.id)).length).toBeGreaterThanOrEqual(uuids.length);
  });

  it("fails only the event that cannot be written when its group's write fails", async () => {
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: "https://example.com/big" });
    const t = testEnv();
    const batch = vi.spyOn(env.DB, "batch");
    const ok = crypto.randomUUID().replaceAll("-", "");
    const results = await Promise.allSettled([
      emit(t.env, type, { first: true }),
      emit(t.env, type, { ok: true }, ok),
      emit(t.env, type, { big: "x".repeat(3_000_000) }),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected"]);
    expect(String((results[2] as PromiseRejectedResult).reason)).toContain("SQLITE_TOOBIG");
    // The first alone, the other two together (refused), then each of them alone.
    expect(batch).toHaveBeenCalledTimes(4);
    expect((await deliveriesOf(hook.id)).map((r) => r.event_uuid)).toContain(ok);
    expect(t.sent).toHaveLength(2);
  });
});
