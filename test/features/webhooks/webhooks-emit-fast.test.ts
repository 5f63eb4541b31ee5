import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN_OWNER } from "../../../src/features/webhooks/access";
import { recordGrouped } from "../../../src/features/webhooks/event-writer";
import { newEventUuid } from "../../../src/features/webhooks/outbox";
import { recordPlainEvents } from "../../../src/features/webhooks/record-events";
import { freshEventType, subscribe } from "../../helpers/webhooks";

/** Each delivery of a hook with its first log row, in the order they were recorded. */
async function deliveriesOf(hookId: string) {
  const { results } = await env.DB.prepare(
    `SELECT d.id, d.event_uuid, d.status, a.status AS first_log FROM webhook_deliveries d
     LEFT JOIN webhook_attempts a ON a.delivery_id = d.id AND a.attempt = 1
     WHERE d.webhook_id = ? ORDER BY d.id`,
  )
    .bind(hookId)
    .all<{ id: number; event_uuid: string; status: string; first_log: string | null }>();
  return results;
}

/** A Queue whose `sendBatch` stays pending until `release()`; what it was given. */
function heldQueue() {
  const sent: number[] = [];
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const queue = {
    sendBatch: async (messages: { body: { delivery_id: number } }[]) => {
      await released;
      sent.push(...messages.map((m) => m.body.delivery_id));
    },
  } as unknown as Queue;
  return { queue, sent, release };
}

describe("recording emitted events from prepared statements", () => {
  it("records each event with a pending delivery and log row per hook, and returns their ids", async () => {
    const type = await freshEventType();
    const hooks = await Promise.all(
      ["a", "b"].map((p) =>
        subscribe({ event_type: type, target_url: `https://example.com/${p}` }),
      ),
    );
    const events = [0, 1, 2].map((i) => ({
      uuid: newEventUuid(),
      eventType: type,
      data: JSON.stringify({ i }),
    }));
    const ids = await recordPlainEvents(env.DB, events);

    expect(ids.map((perEvent) => perEvent.length)).toEqual([2, 2, 2]);
    for (const hook of hooks) {
      const rows = await deliveriesOf(hook.id);
      expect(rows.map((r) => r.event_uuid)).toEqual(events.map((e) => e.uuid));
      expect(rows.every((r) => r.status === "pending" && r.first_log === "pending")).toBe(true);
    }
    const all = (await Promise.all(hooks.map((h) => deliveriesOf(h.id)))).flat();
    expect(ids.flat().sort()).toEqual(all.map((r) => r.id).sort());
    const stored = await env.DB.prepare(
      "SELECT data FROM webhook_events WHERE uuid = ? AND event_type = ?",
    )
      .bind(events[1]?.uuid, type)
      .first<{ data: string }>();
    expect(JSON.parse(stored?.data ?? "null")).toEqual({ i: 1 });
  });

  it("records a uuid once, in the same batch or a later one", async () => {
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: "https://example.com/once" });
    const uuid = newEventUuid();
    const twice = [1, 2].map((n) => ({ uuid, eventType: type, data: JSON.stringify({ n }) }));
    expect(await recordPlainEvents(env.DB, twice)).toEqual([[expect.any(Number)], []]);
    expect(await recordPlainEvents(env.DB, twice.slice(0, 1))).toEqual([[]]);
    expect(await deliveriesOf(hook.id)).toHaveLength(1);
  });

  it("keeps an owner-only event to that owner's hooks, next to one for every hook", async () => {
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: "https://example.com/owner" });
    const [forAdmin, forOther, forAll] = [ADMIN_OWNER, "someone-else", undefined].map(
      (onlyOwner) => ({ uuid: newEventUuid(), eventType: type, data: "{}", onlyOwner }),
    );
    const ids = await recordPlainEvents(
      env.DB,
      [forAdmin, forOther, forAll].map((e) => e!),
    );
    expect(ids.map((perEvent) => perEvent.length)).toEqual([1, 0, 1]);
    expect((await deliveriesOf(hook.id)).map((r) => r.event_uuid)).toEqual([
      forAdmin?.uuid,
      forAll?.uuid,
    ]);
  });
});

describe("the emit's group commit", () => {
  it("answers once the event is in D1, leaving the Queue send to waitUntil", async () => {
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: "https://example.com/held" });
    const held = heldQueue();
    const waited: Promise<unknown>[] = [];
    const event = { uuid: newEventUuid(), eventType: type, data: "{}" };

    await recordGrouped({ ...env, WEBHOOK_QUEUE: held.queue } as Env, event, {
      waitUntil: (promise) => waited.push(promise),
    });
    const [delivery] = await deliveriesOf(hook.id);
    expect(delivery?.event_uuid).toBe(event.uuid);
    expect(held.sent).toEqual([]);
    expect(waited.length).toBeGreaterThan(0);

    held.release();
    await Promise.all(waited);
    expect(held.sent).toEqual([delivery?.id]);
  });

  it("without a waitUntil, answers only after the Queue send", async () => {
    const type = await freshEventType();
    await subscribe({ event_type: type, target_url: "https://example.com/inline" });
    const held = heldQueue();
    let answered = false;
    const writing = recordGrouped({ ...env, WEBHOOK_QUEUE: held.queue } as Env, {
      uuid: newEventUuid(),
      eventType: type,
      data: "{}",
    }).then(() => {
      answered = true;
    });
    await scheduler.wait(50);
    expect(answered).toBe(false);
    held.release();
    await writing;
    expect(held.sent).toHaveLength(1);
  });
});
