import { createMessageBatch, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { deliverWebhookBatch } from "../../../src/features/webhooks/deliver";
import { orderingKeyOf } from "../../../src/features/webhooks/ordering";
import { prepareEvent, recordAndDispatch } from "../../../src/features/webhooks/outbox";
import { scanUndelivered } from "../../../src/features/webhooks/scan";
import { ADMIN, call, expectErrorShape } from "../../helpers/http";
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

// Its own file: the scan looks at every open delivery, and D1 is shared per test file.

const { advance } = fakeClock();

/** Records an event with an ordering key through `t`'s recording queue; its uuid. */
async function emitKeyed(t: Env, type: string, name: string, key?: string): Promise<string> {
  const event = await prepareEvent(t, type, { name }, undefined, key);
  await recordAndDispatch(t, event);
  return event.uuid;
}

async function consumeBatch(t: Env, ids: number[]): Promise<void> {
  const batch = createMessageBatch(
    "switchboard-webhooks",
    ids.map((id) => ({
      id: crypto.randomUUID(),
      timestamp: new Date(),
      attempts: 1,
      body: { delivery_id: id },
    })),
  );
  await deliverWebhookBatch(batch, t);
}

async function deliveryIdOf(hookId: string, eventUuid: string): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT id FROM webhook_deliveries WHERE webhook_id = ? AND event_uuid = ?",
  )
    .bind(hookId, eventUuid)
    .first<{ id: number }>();
  if (!row) throw new Error(`no delivery of ${eventUuid} to ${hookId}`);
  return row.id;
}

describe("ordered delivery per ordering key", () => {
  it("holds back a key behind its failing head, lets other keys flow, then sends the next at once", async () => {
    let failA1 = true;
    const target = `https://example.com/${uid()}`;
    const { calls } = captureFetch((_, req) => {
      const name = JSON.parse(req.body).data.name;
      return name === "a1" && failA1 ? new Response("down", { status: 500 }) : new Response("ok");
    });
    const type = await freshEventType();
    const hook = await subscribe({
      event_type: type,
      target_url: target,
      ordered: true,
      retry_countdown_config: { choice: "fixed", kwargs: { seconds: 10 } },
    });
    expect(hook.ordered).toBe(true);
    const t = testEnv();
    const a1 = await emitKeyed(t.env, type, "a1", "a");
    const a2 = await emitKeyed(t.env, type, "a2", "a");
    const b1 = await emitKeyed(t.env, type, "b1", "b");
    const a3 = await emitKeyed(t.env, type, "a3", "a");
    const ids = t.sent.map((m) => m.body.delivery_id);
    t.sent.length = 0;
    await consumeBatch(t.env, ids);
    const names = () =>
      calls.filter((c) => c.url === target).map((c) => JSON.parse(c.body).data.name);
    // a1 fails; a2 and a3 wait behind it; b1 is not held back.
    expect(names()).toEqual(["a1", "b1"]);
    // The scan leaves the held-back deliveries alone, though they were due long ago.
    advance(5);
    expect(await scanUndelivered(t.env)).toBe(0);
    // A duplicate message of a waiting delivery sends nothing either.
    await consume(t.env, await deliveryIdOf(hook.id, a2));
    expect(names()).toEqual(["a1", "b1"]);
    // a1's retry keeps its countdown; when it succeeds, a2 is enqueued at once.
    failA1 = false;
    advance(10);
    await consume(t.env, await deliveryIdOf(hook.id, a1));
    expect(t.sent.map((m) => m.body.delivery_id)).toEqual([await deliveryIdOf(hook.id, a2)]);
    await consume(t.env, t.sent.shift()?.body.delivery_id as number);
    expect(t.sent.map((m) => m.body.delivery_id)).toEqual([await deliveryIdOf(hook.id, a3)]);
    await consume(t.env, t.sent.shift()?.body.delivery_id as number);
    expect(names()).toEqual(["a1", "b1", "a1", "a2", "a3"]);
    const log = await deliveryLog(hook.id);
    const succeeded = log.filter((r) => r.status === "succeeded").map((r) => r.event_uuid);
    expect(succeeded.sort()).toEqual([a1, a2, a3, b1].sort());
  });

  it("sends the next of a key when the head fails for good", async () => {
    const target = `https://example.com/${uid()}`;
    const { calls } = captureFetch((_, req) =>
      JSON.parse(req.body).data.name === "k1"
        ? new Response("no", { status: 500 })
        : new Response("ok"),
    );
    const type = await freshEventType();
    const hook = await subscribe({
      event_type: type,
      target_url: target,
      ordered: true,
      max_retries: 0,
    });
    const t = testEnv();
    const k1 = await emitKeyed(t.env, type, "k1", "k");
    const k2 = await emitKeyed(t.env, type, "k2", "k");
    const ids = t.sent.map((m) => m.body.delivery_id);
    t.sent.length = 0;
    await consumeBatch(t.env, ids);
    expect(t.sent.map((m) => m.body.delivery_id)).toEqual([await deliveryIdOf(hook.id, k2)]);
    await consume(t.env, t.sent[0]?.body.delivery_id as number);
    expect(calls.map((c) => JSON.parse(c.body).data.name)).toEqual(["k1", "k2"]);
    const log = await deliveryLog(hook.id);
    expect(log.map((r) => [r.event_uuid, r.status])).toEqual([
      [k2, "succeeded"],
      [k1, "failed"],
    ]);
  });

  it("leaves unordered hooks and events without a key unaffected", async () => {
    const { calls } = captureFetch((_, req) =>
      JSON.parse(req.body).data.name === "x1"
        ? new Response("no", { status: 500 })
        : new Response("ok"),
    );
    const type = await freshEventType();
    const unordered = await subscribe({
      event_type: type,
      target_url: `https://example.com/${uid()}`,
    });
    const ordered = await subscribe({
      event_type: type,
      target_url: `https://example.com/${uid()}`,
      ordered: true,
    });
    const t = testEnv();
    await emitKeyed(t.env, type, "x1", "x");
    await emitKeyed(t.env, type, "x2", "x");
    await emitKeyed(t.env, type, "n1");
    await emitKeyed(t.env, type, "n2");
    await consumeBatch(
      t.env,
      t.sent.map((m) => m.body.delivery_id),
    );
    const to = (hookUrl: unknown) =>
      calls
        .filter((c) => c.url === hookUrl)
        .map((c) => JSON.parse(c.body).data.name)
        .sort();
    expect(to(unordered.target_url)).toEqual(["n1", "n2", "x1", "x2"]);
    // The ordered hook holds back x2 only; events without a key are in no order.
    expect(to(ordered.target_url)).toEqual(["n1", "n2", "x1"]);
  });
});

describe("ordering keys", () => {
  it("default to the room of a built-in event and are taken as given otherwise", () => {
    expect(orderingKeyOf("poker.session_ended", { session_id: 7 })).toBe("7");
    expect(orderingKeyOf("poker.story_points_submitted", { session_id: "s1" })).toBe("s1");
    expect(orderingKeyOf("thread.message_created", { thread_id: "t9" })).toBe("t9");
    expect(orderingKeyOf("state.changed", { person_key: "p-1" })).toBe("p-1");
    expect(orderingKeyOf("bus.notification", { db: "main", channel: "ops" })).toBe("main:ops");
    expect(orderingKeyOf("bus.notification", { db: "main", channel: "ops" }, "mine")).toBe("mine");
    expect(orderingKeyOf("package-created", { id: 1 })).toBeNull();
  });

  it("are set on a room's events through its outbox: a bus notification is keyed by db:channel", async () => {
    captureFetch();
    const ordered = await subscribe({
      event_type: "bus.notification",
      target_url: `https://example.com/${uid()}`,
      ordered: true,
    });
    const unordered = await subscribe({
      event_type: "bus.notification",
      target_url: `https://example.com/${uid()}`,
    });
    const db = `db-${uid()}`;
    const user = uid();
    const sent = await call("POST", `/api/bus/${db}/notify`, {
      token: ADMIN,
      body: { title: "Hi", body: "keyed", user },
    });
    expect(sent.status).toBe(201);
    const keyOf = (hookId: string) =>
      env.DB.prepare("SELECT ordering_key AS k FROM webhook_deliveries WHERE webhook_id = ?")
        .bind(hookId)
        .first<{ k: string | null }>();
    for (let i = 0; i < 50 && !(await keyOf(ordered.id)); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await keyOf(ordered.id)).toEqual({ k: `${db}:user:${user}` });
    // An unordered hook's delivery keeps no key: it waits for nothing.
    expect(await keyOf(unordered.id)).toEqual({ k: null });
  });

  it("are bounded at emit: an empty or 201-character key is a 400 naming ordering_key", async () => {
    const type = await freshEventType();
    for (const ordering_key of ["", "k".repeat(201), 5]) {
      const res = await call("POST", "/api/webhook-events", {
        token: ADMIN,
        body: { event_type: type, data: {}, ordering_key },
      });
      expect(res.status).toBe(400);
      expectErrorShape(res.body);
      expect(Object.keys(res.body.error.details)).toContain("ordering_key");
    }
  });
});
