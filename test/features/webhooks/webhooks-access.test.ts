import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { globMatches } from "../../../src/features/webhooks/access";
import { insertWebhook, recordEvents } from "../../../src/features/webhooks/queries";
import { getDb } from "../../../src/platform/db";
import { ADMIN, call, expectErrorShape, tokenFor } from "../../helpers/http";
import {
  captureFetch,
  consume,
  deliveryLog,
  emit,
  freshEventType,
  subscribe,
  subscriberToken,
  testEnv,
  uid,
} from "../../helpers/webhooks";

/**
 * Who may subscribe to which event type, what a hook receives, and what a redelivery may send:
 * built-in types carry many users' private data and go only to the admin's hooks.
 */

const BUILTIN = [
  "poker.session_ended",
  "poker.story_points_submitted",
  "thread.message_created",
  "state.changed",
  "bus.notification",
];
const PATHS = ["/api/webhooks", "/whisperer/hooks/"];
const url = () => `https://example.com/${uid()}`;
const notification = { db: "db1", channel: "c", title: "t", body: "private", priority: 1 };

afterEach(() => vi.restoreAllMocks());

/** Registers an app event type named exactly `name`. */
async function registerType(name: string): Promise<string> {
  const res = await call("POST", "/api/webhooks/event-types", {
    token: ADMIN,
    body: { event_type: name },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return name;
}

/** The token a poker guest gets by joining with a voter invite. */
async function pokerGuestToken(): Promise<string> {
  const session = await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name: "G" } });
  const invite = await call("POST", `/api/poker/sessions/${session.body.id}/invites`, {
    token: ADMIN,
    body: {},
  });
  const joined = await call("POST", `/api/poker/sessions/${session.body.id}/join`, {
    body: { invite: invite.body.invite, name: "Guest" },
  });
  expect(joined.status).toBe(201);
  expect(joined.body.permissions).toEqual(["planning_poker.vote"]);
  return joined.body.token;
}

/** Every hook (admin view) pointing at `target`. */
async function hooksAt(target: string): Promise<unknown[]> {
  const all = await call("GET", "/api/webhooks?limit=200", { token: ADMIN });
  return all.body.results.filter((h: any) => h.target_url === target);
}

/** The ids of the rows of `table` (deliveries or their log) that belong to a hook. */
async function rowsOf(table: "webhook_deliveries" | "webhook_attempts", hookId: string) {
  const { results } = await env.DB.prepare(`SELECT id FROM ${table} WHERE webhook_id = ?`)
    .bind(hookId)
    .all<{ id: number }>();
  return results.map((row) => row.id);
}

describe("who may subscribe", () => {
  it("refuses a poker guest's token for thread messages with 403, and stores nothing", async () => {
    const guest = await pokerGuestToken();
    const target = url();
    for (const path of PATHS) {
      const res = await call("POST", path, {
        token: guest,
        body: { event_type: "thread.message_created", target_url: target },
      });
      expect(res.status, path).toBe(403);
      expectErrorShape(res.body);
      expect(res.body.error.code).toBe("forbidden");
    }
    expect(await hooksAt(target)).toEqual([]);
  });

  it("keeps every built-in type for the admin, whatever glob a client holds", async () => {
    const everything = await subscriberToken("all");
    for (const event_type of BUILTIN) {
      for (const path of PATHS) {
        const res = await call("POST", path, {
          token: everything,
          body: { event_type, target_url: url() },
        });
        expect(res.status, `${event_type} ${path}`).toBe(403);
        expectErrorShape(res.body);
        expect(res.body.error.message).toContain("admin");
      }
      await subscribe({ event_type, target_url: url() });
    }
    const app = await freshEventType();
    for (const path of PATHS) {
      const res = await call("POST", path, {
        token: everything,
        body: { event_type: app, target_url: url() },
      });
      expect(res.status, path).toBe(201);
    }
  });

  it("grants an app type only through a webhooks.subscribe glob that matches all of it", async () => {
    const id = uid();
    const packageCreated = await registerType(`package-${id}-created`);
    const orderCreated = await registerType(`order-${id}-created`);
    const cases: [string[], string, number][] = [
      [[], packageCreated, 403],
      [["planning_poker.moderate", "bus.publish"], packageCreated, 403],
      [[`webhooks.subscribe:package-${id}-*`], packageCreated, 201],
      [[`webhooks.subscribe:package-${id}-*`], orderCreated, 403],
      [[`webhooks.subscribe:${orderCreated}`], orderCreated, 201],
      [[`webhooks.subscribe:*-${id}-created`], orderCreated, 201],
      // The whole type must match: a prefix without `*` is not enough.
      [[`webhooks.subscribe:package-${id}`], packageCreated, 403],
      [["webhooks.subscribe"], packageCreated, 403],
      [["webhooks.subscribe:"], packageCreated, 403],
      // Only `*` is special: `?` and `.` are themselves.
      [[`webhooks.subscribe:package-${id}-?reated`], packageCreated, 403],
      [[`webhooks.subscribe:PACKAGE-${id}-*`], packageCreated, 403],
      [["webhooks.publish:*"], packageCreated, 403],
    ];
    for (const [permissions, event_type, status] of cases) {
      const token = await tokenFor(`g-${uid()}`, permissions);
      const res = await call("POST", "/api/webhooks", {
        token,
        body: { event_type, target_url: url() },
      });
      expect(res.status, `${JSON.stringify(permissions)} → ${event_type}`).toBe(status);
      if (status === 403) expectErrorShape(res.body);
    }
  });

  it("lets an API key subscribe through its glob, never to a built-in type", async () => {
    const type = await registerType(`package-${uid()}-created`);
    const created = await call("POST", "/api/keys", {
      token: ADMIN,
      body: {
        name: "Package backend",
        user: { id: `backend-${uid()}`, name: "Backend" },
        permissions: ["webhooks.subscribe:package-*"],
      },
    });
    expect(created.status).toBe(201);
    const key = created.body.key;
    const app = await call("POST", "/api/webhooks", {
      token: key,
      body: { event_type: type, target_url: url() },
    });
    expect(app.status).toBe(201);
    const builtin = await call("POST", "/api/webhooks", {
      token: key,
      body: { event_type: "bus.notification", target_url: url() },
    });
    expect(builtin.status).toBe(403);
    expectErrorShape(builtin.body);
  });

  it("checks a new event_type on PATCH like a new subscription", async () => {
    const id = uid();
    const mine = await registerType(`package-${id}-created`);
    const other = await registerType(`order-${id}-created`);
    const token = await tokenFor(`p-${uid()}`, [`webhooks.subscribe:package-${id}-*`]);
    const hook = await subscribe({ event_type: mine, target_url: url() }, token);
    for (const event_type of [other, "thread.message_created"]) {
      const res = await call("PATCH", `/whisperer/hooks/${hook.id}/`, {
        token,
        body: { event_type },
      });
      expect(res.status, event_type).toBe(403);
      expectErrorShape(res.body);
    }
    // Even the admin does not hand a built-in type to a user's hook: only its own receive them.
    const byAdmin = await call("PATCH", `/api/webhooks/${hook.id}`, {
      token: ADMIN,
      body: { event_type: "bus.notification" },
    });
    expect(byAdmin.status).toBe(403);
    expect((await call("GET", `/api/webhooks/${hook.id}`, { token })).body.event_type).toBe(mine);
    const again = await registerType(`package-${id}-updated`);
    const moved = await call("PATCH", `/api/webhooks/${hook.id}`, {
      token,
      body: { event_type: again },
    });
    expect(moved.status).toBe(200);
    const adminHook = await subscribe({ event_type: mine, target_url: url() });
    const adminMoved = await call("PATCH", `/api/webhooks/${adminHook.id}`, {
      token: ADMIN,
      body: { event_type: "bus.notification" },
    });
    expect(adminMoved.status).toBe(200);
  });
});

describe("webhooks.subscribe globs", () => {
  it.each([
    ["package-*", "package-created", true],
    ["package-*", "package-", true],
    ["package-*", "my-package-created", false],
    ["*", "anything.at:all", true],
    ["*-created", "package-created", true],
    ["a*b*c", "abc", true],
    ["a*b*c", "a-b-c", true],
    ["a*b*c", "a-b-c-", false],
    ["a**c", "ac", true],
    ["*.created", "pkg.created", true],
    ["*.created", "pkg-created", false],
    ["pkg.?", "pkg.a", false],
    ["pkg.?", "pkg.?", true],
    ["pkg[ab]", "pkga", false],
    ["Package-*", "package-created", false],
    ["package-created", "package-created", true],
    ["package-created", "package-created-2", false],
    ["", "package-created", false],
  ])("%s matches %s: %s", (glob, type, expected) => {
    expect(globMatches(glob, type)).toBe(expected);
  });

  it("stays fast on globs made to backtrack", () => {
    const started = performance.now();
    expect(globMatches(`${"*a".repeat(50)}b`, "a".repeat(100))).toBe(false);
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe("what a hook receives", () => {
  it("sends built-in events only to the admin's hooks, even to a user's hook stored before", async () => {
    // A user's hook on a built-in type, as subscribing could create before only the admin could.
    const early = await insertWebhook(getDb(env.DB), {
      id: crypto.randomUUID(),
      owner: `user:early-${uid()}`,
      eventType: "bus.notification",
      targetUrl: url(),
      secretKey: "k",
      countdown: JSON.stringify({ choice: "fixed", kwargs: { seconds: 1 } }),
      maxRetries: 1,
    });
    const admins = await subscribe({ event_type: "bus.notification", target_url: url() });
    const t = testEnv();
    await emit(t.env, "bus.notification", notification);
    expect(await rowsOf("webhook_deliveries", early!.id)).toEqual([]);
    expect(await rowsOf("webhook_deliveries", admins.id)).toHaveLength(1);
  });

  it("closes a delivery of a built-in event to a user's hook without sending it", async () => {
    const { calls } = captureFetch();
    const owner = `user:early-${uid()}`;
    const hook = await insertWebhook(getDb(env.DB), {
      id: crypto.randomUUID(),
      owner,
      eventType: "state.changed",
      targetUrl: url(),
      secretKey: "k",
      countdown: JSON.stringify({ choice: "fixed", kwargs: { seconds: 1 } }),
      maxRetries: 1,
    });
    // The delivery as the old emit recorded it (every hook of the type, whoever owned it).
    await recordEvents(getDb(env.DB), [
      {
        uuid: `evt-${uid()}`,
        eventType: "state.changed",
        data: JSON.stringify({ person_key: "p", entity: "flow", id: 1, identifier: "f" }),
      },
    ]);
    const [deliveryId] = await rowsOf("webhook_deliveries", hook!.id);
    await consume(testEnv().env, deliveryId!);
    expect(calls.filter((c) => c.url === hook!.targetUrl)).toEqual([]);
    const [row] = (
      await env.DB.prepare("SELECT status, error FROM webhook_attempts WHERE webhook_id = ?")
        .bind(hook!.id)
        .all()
    ).results;
    expect(row).toMatchObject({ status: "failed", error: expect.stringMatching(/admin/) });
  });

  it("does not send an event of the hook's former type after a PATCH changed it", async () => {
    const { calls } = captureFetch();
    const before = await freshEventType();
    const hook = await subscribe({ event_type: before, target_url: url() });
    const t = testEnv();
    await emit(t.env, before, { hello: "world" });
    const patched = await call("PATCH", `/api/webhooks/${hook.id}`, {
      token: ADMIN,
      body: { event_type: await freshEventType() },
    });
    expect(patched.status).toBe(200);
    await consume(t.env, t.sent[0]?.body.delivery_id as number);
    expect(calls.filter((c) => c.url === hook.target_url)).toEqual([]);
    const [attempt] = await deliveryLog(hook.id);
    expect(attempt).toMatchObject({ status: "failed", error: expect.stringMatching(/another/) });
  });
});

describe("redeliver", () => {
  it("answers 404 for an event the hook never got, and creates no delivery", async () => {
    const type = await freshEventType();
    const ada = await subscriberToken("ada");
    const bob = await subscriberToken("bob");
    const adas = await subscribe({ event_type: type, target_url: url() }, ada);
    const uuid = `evt-${uid()}`;
    const t = testEnv();
    await emit(t.env, type, { secret: "ada's" }, uuid);
    expect(await deliveryLog(adas.id)).toHaveLength(1);
    // Bob subscribes to the same type afterwards, then asks for Ada's event by its known uuid.
    const bobs = await subscribe({ event_type: type, target_url: url() }, bob);
    for (const [token, who] of [
      [bob, "its owner"],
      [ADMIN, "the admin"],
    ]) {
      const res = await call("POST", `/api/webhooks/${bobs.id}/deliveries/${uuid}/redeliver`, {
        token,
      });
      expect(res.status, who).toBe(404);
      expectErrorShape(res.body);
    }
    expect(await rowsOf("webhook_deliveries", bobs.id)).toEqual([]);
    expect(await rowsOf("webhook_attempts", bobs.id)).toEqual([]);
    // Ada's own hook did get it: hers may be sent again (once its delivery is finished).
    captureFetch();
    await consume(t.env, t.sent[0]?.body.delivery_id as number);
    const mine = await call("POST", `/api/webhooks/${adas.id}/deliveries/${uuid}/redeliver`, {
      token: ada,
    });
    expect(mine.status).toBe(202);
  });
});
