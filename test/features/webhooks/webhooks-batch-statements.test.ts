import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type AttemptOutcome,
  claimAttempts,
  completeAttempts,
  type DeliveryRow,
  recordEvents,
} from "../../../src/features/webhooks/queries";
import { getDb } from "../../../src/platform/db";
import { freshEventType, subscribe } from "../../helpers/webhooks";

// A Queue batch is up to 100 deliveries, and D1 binds at most 100 parameters per statement: the
// batch's statements carry their rows as one JSON parameter, whatever the batch's size.

afterEach(() => {
  vi.restoreAllMocks();
});

const db = () => getDb(env.DB);

async function loadRows(hookId: string) {
  const { results } = await env.DB.prepare(
    `SELECT id, event_uuid AS eventUuid, webhook_id AS webhookId, status, attempts,
       round_start AS roundStart, next_attempt_at AS nextAttemptAt, ordering_key AS orderingKey,
       created_at AS createdAt, updated_at AS updatedAt
     FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id`,
  )
    .bind(hookId)
    .all<DeliveryRow>();
  return results;
}

async function hookHealth(hookId: string) {
  return env.DB.prepare(
    "SELECT consecutive_failures AS failures, failing_since AS since FROM webhooks WHERE id = ?",
  )
    .bind(hookId)
    .first<{ failures: number; since: number | null }>();
}

function outcome(
  delivery: DeliveryRow,
  eventType: string,
  status: "succeeded" | "failed",
  final = false,
): AttemptOutcome {
  return {
    delivery,
    attempt: delivery.attempts,
    eventType,
    status,
    responseStatus: status === "succeeded" ? 200 : 500,
    responseBody: status,
    durationMs: 3,
    error: null,
    retryAt: status === "succeeded" || final ? null : Date.now() + 60_000,
    hookEffect:
      status === "succeeded" ? { kind: "succeeded" } : { kind: "failed", final, trip: null },
  };
}

describe("a Queue batch's statements, one per kind whatever the batch's size", () => {
  it("records 100 events for two hooks each, in emit order, and returns every delivery id", async () => {
    const type = await freshEventType();
    const hooks = await Promise.all(
      ["a", "b"].map((p) =>
        subscribe({ event_type: type, target_url: `https://example.com/${p}` }),
      ),
    );
    const events = Array.from({ length: 100 }, (_, i) => ({
      uuid: `batch-${crypto.randomUUID()}`,
      eventType: type,
      data: JSON.stringify({ i }),
    }));
    const ids = await recordEvents(db(), [...events, events[0] as (typeof events)[number]]);
    expect(ids).toHaveLength(200);
    for (const hook of hooks) {
      const rows = await loadRows(hook.id);
      expect(rows.map((r) => r.eventUuid)).toEqual(events.map((e) => e.uuid));
    }
    // Recording them again adds nothing.
    expect(await recordEvents(db(), events)).toEqual([]);
  });

  it("claims 100 unpaced deliveries in one statement, a delivery named twice once", async () => {
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: "https://example.com/claim" });
    await recordEvents(
      db(),
      Array.from({ length: 100 }, (_, i) => ({
        uuid: `claim-${crypto.randomUUID()}`,
        eventType: type,
        data: JSON.stringify({ i }),
      })),
    );
    const rows = await loadRows(hook.id);
    const batch = vi.spyOn(env.DB, "batch");
    const now = Date.now();
    const claims = [...rows, rows[0] as DeliveryRow].map((delivery) => ({ delivery }));
    const { won } = await claimAttempts(
      db(),
      claims,
      { dueBy: now + 1_000, leaseUntil: now + 60_000 },
      now,
    );
    expect(won).toEqual([...rows.map(() => true), false]);
    expect(batch.mock.calls[0]?.[0]).toHaveLength(1);
    expect((await loadRows(hook.id)).every((r) => r.attempts === 1)).toBe(true);
    // Claimed already: a second claim with the counts read before wins nothing.
    const again = await claimAttempts(
      db(),
      claims.slice(0, 3),
      { dueBy: now + 1_000, leaseUntil: now + 60_000 },
      now,
    );
    expect(again.won).toEqual([false, false, false]);
  });

  it("writes a hook's successes together, and a hook with a failure among them outcome by outcome", async () => {
    const type = await freshEventType();
    const clean = await subscribe({ event_type: type, target_url: "https://example.com/clean" });
    const mixed = await subscribe({ event_type: type, target_url: "https://example.com/mixed" });
    await recordEvents(
      db(),
      [0, 1].map((i) => ({
        uuid: `done-${crypto.randomUUID()}`,
        eventType: type,
        data: `{"i":${i}}`,
      })),
    );
    const now = Date.now();
    for (const hook of [clean, mixed]) {
      await claimAttempts(
        db(),
        (await loadRows(hook.id)).map((delivery) => ({ delivery })),
        { dueBy: now + 1_000, leaseUntil: now + 60_000 },
        now,
      );
    }
    const [c1, c2] = await loadRows(clean.id);
    const [m1, m2] = await loadRows(mixed.id);
    await completeAttempts(db(), [
      outcome(c1 as DeliveryRow, type, "succeeded"),
      outcome(m1 as DeliveryRow, type, "failed", true),
      outcome(c2 as DeliveryRow, type, "succeeded"),
      outcome(m2 as DeliveryRow, type, "succeeded"),
    ]);
    expect((await loadRows(clean.id)).map((r) => r.status)).toEqual(["succeeded", "succeeded"]);
    expect((await loadRows(mixed.id)).map((r) => r.status)).toEqual(["failed", "succeeded"]);
    // The mixed hook's success came last, so it ends healthy, as attempt by attempt.
    expect(await hookHealth(mixed.id)).toEqual({ failures: 0, since: null });
    expect(await hookHealth(clean.id)).toEqual({ failures: 0, since: null });
    const { results } = await env.DB.prepare(
      "SELECT status, response_status AS code, response_body AS body FROM webhook_attempts WHERE webhook_id = ? ORDER BY delivery_id",
    )
      .bind(clean.id)
      .all();
    expect(results).toEqual([
      { status: "succeeded", code: 200, body: "succeeded" },
      { status: "succeeded", code: 200, body: "succeeded" },
    ]);
  });
});
