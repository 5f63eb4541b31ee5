import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN, call, expectErrorShape, tokenFor } from "../../helpers/http";

const HOUR = 60 * 60 * 1000;

/** An API key of a new user holding `permissions`, as an operator would be given one. */
async function apiKey(permissions: string[]): Promise<string> {
  const res = await call("POST", "/api/keys", {
    token: ADMIN,
    body: { name: "Console", user: { id: `op-${crypto.randomUUID()}`, name: "Op" }, permissions },
  });
  expect(res.status).toBe(201);
  return res.body.key;
}

/** A hook of a user holding `webhooks.subscribe:*` (an app event type, so not the admin's). */
async function userHook(): Promise<{ id: string; token: string }> {
  const eventType = `console-${crypto.randomUUID().slice(0, 8)}`;
  const reg = await call("POST", "/api/webhooks/event-types", {
    token: ADMIN,
    body: { event_type: eventType, description: "Console test" },
  });
  expect(reg.status).toBe(201);
  const token = await tokenFor(`owner-${crypto.randomUUID()}`, ["webhooks.subscribe:*"]);
  const res = await call("POST", "/api/webhooks", {
    token,
    body: { event_type: eventType, target_url: "https://hooks.example.com/console" },
  });
  expect(res.status).toBe(201);
  return { id: res.body.id, token };
}

/** Attempt rows as the consumer writes them (this test is about reading them back). */
async function insertAttempts(
  hook: string,
  rows: { at: number; status: string; ms: number | null }[],
): Promise<void> {
  const delivery = Math.floor(Math.random() * 1e9);
  await env.DB.batch(
    rows.map((r, i) =>
      env.DB.prepare(
        `INSERT INTO webhook_attempts (delivery_id, webhook_id, event_uuid, event_type, attempt,
           status, duration_ms, created_at) VALUES (?, ?, ?, 't', ?, ?, ?, ?)`,
      ).bind(delivery, hook, crypto.randomUUID(), i + 1, r.status, r.ms, r.at),
    ),
  );
}

describe("console.read: the operators' console credential", () => {
  it("reads stats and live rooms; without it a key gets 403", async () => {
    const reader = await apiKey(["console.read"]);
    const plain = await apiKey([]);
    for (const path of ["/api/stats", "/api/rooms"]) {
      expect((await call("GET", path, { token: reader })).status).toBe(200);
      const refused = await call("GET", path, { token: plain });
      expect(refused.status).toBe(403);
      expectErrorShape(refused.body);
      expect((await call("GET", path)).status).toBe(401);
    }
  });

  it("reads every hook and its log, but changes none and redelivers none", async () => {
    const hook = await userHook();
    const reader = await apiKey(["console.read"]);
    const plain = await apiKey([]);
    const listed = await call("GET", "/api/webhooks?limit=200", { token: reader });
    expect(listed.body.results.map((h: { id: string }) => h.id)).toContain(hook.id);
    const plainList = await call("GET", "/api/webhooks?limit=200", { token: plain });
    expect(plainList.body.results).toEqual([]);
    for (const path of [`/api/webhooks/${hook.id}`, `/api/webhooks/${hook.id}/deliveries`]) {
      expect((await call("GET", path, { token: reader })).status).toBe(200);
      expect((await call("GET", path, { token: plain })).status).toBe(404);
    }
    const patched = await call("PATCH", `/api/webhooks/${hook.id}`, {
      token: reader,
      body: { is_active: false },
    });
    expect(patched.status).toBe(404);
    const redeliver = `/api/webhooks/${hook.id}/deliveries/${crypto.randomUUID()}/redeliver`;
    expect((await call("POST", redeliver, { token: reader })).status).toBe(404);
  });
});

describe("GET /api/webhooks/:id/stats", () => {
  it("buckets finished attempts per hour with nearest-rank p50/p95", async () => {
    const hook = await userHook();
    const thisHour = Math.floor(Date.now() / HOUR) * HOUR;
    const durations = [
      10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200,
    ];
    await insertAttempts(hook.id, [
      ...durations.map((ms, i) => ({
        at: thisHour + 1,
        status: i < 15 ? "succeeded" : i < 18 ? "retrying" : "failed",
        ms,
      })),
      // Still running: no outcome yet, left out.
      { at: thisHour + 1, status: "pending", ms: null },
      { at: thisHour - 2 * HOUR + 1000, status: "failed", ms: 900 },
      // Older than the window.
      { at: thisHour - 30 * HOUR, status: "failed", ms: 5 },
    ]);
    const res = await call("GET", `/api/webhooks/${hook.id}/stats?hours=24`, { token: hook.token });
    expect(res.status).toBe(200);
    const buckets = res.body.buckets;
    expect(buckets).toHaveLength(24);
    expect(buckets[23]).toEqual({
      start: new Date(thisHour).toISOString(),
      attempts: 20,
      succeeded: 15,
      failed: 5,
      p50_ms: 100,
      p95_ms: 190,
    });
    expect(buckets[21]).toMatchObject({ attempts: 1, failed: 1, p50_ms: 900, p95_ms: 900 });
    expect(buckets[0]).toEqual({
      start: new Date(thisHour - 23 * HOUR).toISOString(),
      attempts: 0,
      succeeded: 0,
      failed: 0,
      p50_ms: null,
      p95_ms: null,
    });
    const total = buckets.reduce((n: number, b: { attempts: number }) => n + b.attempts, 0);
    expect(total).toBe(21);
  });

  it("is the owner's, the admin's or console.read's; bounds hours", async () => {
    const hook = await userHook();
    const path = `/api/webhooks/${hook.id}/stats`;
    expect((await call("GET", path, { token: ADMIN })).body.buckets).toHaveLength(24);
    const reader = await apiKey(["console.read"]);
    expect((await call("GET", `${path}?hours=1`, { token: reader })).body.buckets).toHaveLength(1);
    const stranger = await tokenFor("stranger", ["webhooks.subscribe:*"]);
    expect((await call("GET", path, { token: stranger })).status).toBe(404);
    expect((await call("GET", path)).status).toBe(401);
    for (const hours of ["0", "169", "1.5", "x"]) {
      const bad = await call("GET", `${path}?hours=${hours}`, { token: ADMIN });
      expect(bad.status).toBe(400);
      expectErrorShape(bad.body);
    }
    expect((await call("GET", "/api/webhooks/nope/stats", { token: ADMIN })).status).toBe(404);
  });
});
