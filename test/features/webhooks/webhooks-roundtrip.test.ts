import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN, call } from "../../helpers/http";
import { captureFetch, deliveryLog, freshEventType, subscribe, uid } from "../../helpers/webhooks";

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

afterEach(() => vi.restoreAllMocks());

describe("webhooks through the real Queue", () => {
  it("delivers an emitted event once even when its uuid is emitted twice", async () => {
    const { calls } = captureFetch();
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: `https://example.com/${uid()}` });
    const event_uuid = `evt-${uid()}`;
    for (let i = 0; i < 2; i++) {
      const res = await call("POST", "/api/webhook-events", {
        token: ADMIN,
        body: { event_type: type, data: { n: i }, event_uuid },
      });
      expect(res.status).toBe(202);
    }
    const log = await eventually("the delivery", async () => {
      const rows = await deliveryLog(hook.id);
      expect(rows.map((r) => r.status)).toEqual(["succeeded"]);
      return rows;
    });
    expect(log[0]).toMatchObject({
      event_uuid,
      event_type: type,
      attempt: 1,
      response_status: 200,
    });
    await new Promise((r) => setTimeout(r, 1500));
    const mine = calls.filter((c) => c.headers["webhook-id"] === event_uuid);
    expect(mine).toHaveLength(1);
    expect(JSON.parse(mine[0]?.body ?? "")).toEqual({
      event: { type, uuid: event_uuid },
      data: { n: 0 },
    });
  });
});

describe("retries and redelivery through the real Queue", () => {
  it("retries a 500 after the countdown, then redelivers on request", async () => {
    const target = `https://example.com/${uid()}`;
    const { calls } = captureFetch((n, req) =>
      req.url === target && n === 0 ? new Response("boom", { status: 500 }) : new Response("ok"),
    );
    const type = await freshEventType();
    const hook = await subscribe({
      event_type: type,
      target_url: target,
      retry_countdown_config: { choice: "fixed", kwargs: { seconds: 1 } },
    });
    const emitted = await call("POST", "/api/webhook-events", {
      token: ADMIN,
      body: { event_type: type, data: { ok: true } },
    });
    const { event_uuid } = emitted.body;
    await eventually("attempt 2 to succeed", async () => {
      const log = await deliveryLog(hook.id);
      expect(log.map((r) => [r.attempt, r.status, r.response_status])).toEqual([
        [2, "succeeded", 200],
        [1, "failed", 500],
      ]);
    });
    expect(calls.filter((c) => c.url === target)).toHaveLength(2);

    const again = await call(
      "POST",
      `/api/webhooks/${hook.id}/deliveries/${event_uuid}/redeliver`,
      { token: ADMIN },
    );
    expect(again.status).toBe(202);
    await eventually("the redelivery", async () => {
      const log = await deliveryLog(hook.id);
      expect(log[0]).toMatchObject({ attempt: 3, status: "succeeded", event_uuid });
    });
    const ids = calls.filter((c) => c.url === target).map((c) => c.headers["webhook-id"]);
    expect(ids).toEqual([event_uuid, event_uuid, event_uuid]);
  });

  it("refuses to redeliver an unknown event or an event of another type", async () => {
    captureFetch();
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: `https://example.com/${uid()}` });
    const missing = await call("POST", `/api/webhooks/${hook.id}/deliveries/nope/redeliver`, {
      token: ADMIN,
    });
    expect(missing.status).toBe(404);
    const other = await call("POST", "/api/webhook-events", {
      token: ADMIN,
      body: { event_type: await freshEventType(), data: {} },
    });
    const foreign = await call(
      "POST",
      `/api/webhooks/${hook.id}/deliveries/${other.body.event_uuid}/redeliver`,
      { token: ADMIN },
    );
    expect(foreign.status).toBe(404);
  });
});
