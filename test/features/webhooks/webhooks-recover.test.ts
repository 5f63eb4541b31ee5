import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN, call, expectErrorShape } from "../../helpers/http";
import {
  captureFetch,
  deliveryLog,
  freshEventType,
  subscribe,
  subscriberToken,
  uid,
} from "../../helpers/webhooks";

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

const HOUR = 3_600_000;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

afterEach(() => vi.restoreAllMocks());

/** Emits one event of `type` as the admin; its uuid. */
async function emit(type: string, data: Record<string, unknown>): Promise<string> {
  const res = await call("POST", "/api/webhook-events", {
    token: ADMIN,
    body: { event_type: type, data },
  });
  expect(res.status).toBe(202);
  return res.body.event_uuid;
}

/** Each event's attempts on `hookId`, as `status` strings, oldest attempt first. */
async function outcomes(hookId: string): Promise<Record<string, string[]>> {
  const byEvent: Record<string, string[]> = {};
  for (const row of (await deliveryLog(hookId)).reverse()) {
    byEvent[row.event_uuid] = [...(byEvent[row.event_uuid] ?? []), row.status];
  }
  return byEvent;
}

/** A user's hook without retries, so a 500 fails the delivery at once. */
async function failingSetup() {
  const target = `https://example.com/${uid()}`;
  let healthy = false;
  const { calls } = captureFetch((_n, req) =>
    req.url === target && !healthy && JSON.parse(req.body).data.fail
      ? new Response("down", { status: 500 })
      : new Response("ok"),
  );
  const type = await freshEventType();
  const ada = await subscriberToken("ada");
  const hook = await subscribe({ event_type: type, target_url: target, max_retries: 0 }, ada);
  const sentTo = (uuid: string) =>
    calls.filter((c) => c.url === target && c.headers["webhook-id"] === uuid).length;
  return { type, ada, hook, sentTo, heal: () => (healthy = true) };
}

describe("POST /api/webhooks/:id/recover", () => {
  it("re-sends once each failed delivery since `since`; succeeded and older ones are left alone", async () => {
    const s = await failingSetup();
    const old = await emit(s.type, { fail: true });
    await eventually("the old failure", async () =>
      expect((await outcomes(s.hook.id))[old]).toEqual(["failed"]),
    );
    await new Promise((r) => setTimeout(r, 20));
    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const failed = await emit(s.type, { fail: true });
    const fine = await emit(s.type, { fail: false });
    await eventually("the new failure and the success", async () =>
      expect(await outcomes(s.hook.id)).toEqual({
        [old]: ["failed"],
        [failed]: ["failed"],
        [fine]: ["succeeded"],
      }),
    );

    s.heal();
    const key = `recover-${uid()}`;
    const res = await call("POST", `/api/webhooks/${s.hook.id}/recover`, {
      token: s.ada,
      body: { since },
      headers: { "Idempotency-Key": key },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ count: 1 });
    await eventually("the recovered delivery", async () =>
      expect((await outcomes(s.hook.id))[failed]).toEqual(["failed", "succeeded"]),
    );
    // A retried request is answered from the first, and sends nothing more.
    const replay = await call("POST", `/api/webhooks/${s.hook.id}/recover`, {
      token: s.ada,
      body: { since },
      headers: { "Idempotency-Key": key },
    });
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual({ count: 1 });
    // Nothing failed is left in the window now.
    const again = await call("POST", `/api/webhooks/${s.hook.id}/recover`, {
      token: s.ada,
      body: { since },
    });
    expect(again.body).toEqual({ count: 0 });
    await new Promise((r) => setTimeout(r, 1_500));
    expect([s.sentTo(old), s.sentTo(failed), s.sentTo(fine)]).toEqual([1, 2, 1]);
    expect(await outcomes(s.hook.id)).toEqual({
      [old]: ["failed"],
      [failed]: ["failed", "succeeded"],
      [fine]: ["succeeded"],
    });
  });

  it("answers 404 for another user's hook and lets the admin recover any hook", async () => {
    const s = await failingSetup();
    const failed = await emit(s.type, { fail: true });
    await eventually("the failure", async () =>
      expect((await outcomes(s.hook.id))[failed]).toEqual(["failed"]),
    );
    const bob = await subscriberToken("bob");
    const body = { since: ago(HOUR) };
    const refused = await call("POST", `/api/webhooks/${s.hook.id}/recover`, { token: bob, body });
    expect(refused.status).toBe(404);
    expectErrorShape(refused.body);
    expect((await outcomes(s.hook.id))[failed]).toEqual(["failed"]);
    const missing = await call("POST", "/api/webhooks/nope/recover", { token: ADMIN, body });
    expect(missing.status).toBe(404);
    const admin = await call("POST", `/api/webhooks/${s.hook.id}/recover`, { token: ADMIN, body });
    expect(admin.status).toBe(202);
    expect(admin.body).toEqual({ count: 1 });
  });

  it("answers 400 naming `since` when it is missing, not a date-time, in the future or over 7 days back", async () => {
    const { hook, ada } = await failingSetup();
    for (const body of [
      {},
      { since: "yesterday" },
      { since: new Date(Date.now() + HOUR).toISOString() },
      { since: ago(7 * 24 * HOUR + HOUR) },
    ]) {
      const res = await call("POST", `/api/webhooks/${hook.id}/recover`, { token: ada, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expectErrorShape(res.body);
      expect(Object.keys(res.body.error.details ?? {}), JSON.stringify(body)).toContain("since");
    }
    const edge = await call("POST", `/api/webhooks/${hook.id}/recover`, {
      token: ada,
      body: { since: ago(7 * 24 * HOUR - HOUR) },
    });
    expect(edge.status).toBe(202);
  });

  it("answers 409 for a disabled hook", async () => {
    const { hook, ada } = await failingSetup();
    const off = await call("PATCH", `/api/webhooks/${hook.id}`, {
      token: ada,
      body: { is_active: false },
    });
    expect(off.status).toBe(200);
    const res = await call("POST", `/api/webhooks/${hook.id}/recover`, {
      token: ada,
      body: { since: ago(HOUR) },
    });
    expect(res.status).toBe(409);
  });
});
