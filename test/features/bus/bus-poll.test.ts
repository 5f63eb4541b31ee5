import { env, SELF } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { busStub } from "../../../src/features/bus/bus-channel";
import { newDb, poll, publish, publishReserved, sleep } from "../../helpers/bus";
import { ADMIN, BASE, call, expectErrorShape, tokenFor } from "../../helpers/http";

const NOTHING = { channel: null, message: null };

describe("bus long polling: Tryton semantics (trytond test_bus.py)", () => {
  it("answers {message: null, channel: null} when nothing arrives", async () => {
    const res = await poll(newDb(), await tokenFor("1"), { last_message: null, channels: [] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(NOTHING);
  });

  it("answers at once with the next message after last_message", async () => {
    const db = newDb();
    const token = await tokenFor("u1", ["bus.listen:orders.*"]);
    const ids: string[] = [];
    for (let x = 0; x < 15; x++) ids.push(await publish(db, "orders.all", { type: "n", x }));
    const started = Date.now();
    const res = await poll(db, token, { last_message: ids[11], channels: ["orders.all"] }, 30);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.body).toEqual({
      channel: "orders.all",
      message: { message_id: ids[12], type: "n", x: 12 },
    });
  });

  it("skips messages of channels the poll does not list", async () => {
    const db = newDb();
    const token = await tokenFor("u1", ["bus.listen:*"]);
    const ids: string[] = [];
    for (let x = 0; x < 15; x++)
      ids.push(await publish(db, x % 2 ? "odd" : "even", { type: "n", x }));
    const res = await poll(db, token, { last_message: ids[11], channels: ["odd"] });
    expect(res.body.channel).toBe("odd");
    expect(res.body.message).toEqual({ message_id: ids[13], type: "n", x: 13 });
  });

  it("starts from now when last_message is null: waits for the next message, never replays", async () => {
    const db = newDb();
    const token = await tokenFor("u1", ["bus.listen:news"]);
    await publish(db, "news", { type: "old" });
    const pending = poll(db, token, { last_message: null, channels: ["news"] }, 10);
    await sleep(300);
    const fresh = await publish(db, "news", { type: "fresh" });
    const res = await pending;
    expect(res.body).toEqual({ channel: "news", message: { message_id: fresh, type: "fresh" } });
  });

  it("answers the oldest kept message with gap: true for a missing, foreign or future id", async () => {
    const db = newDb();
    const token = await tokenFor("u1", ["bus.listen:news"]);
    const first = await publish(db, "news", { type: "a" });
    await publish(db, "news", { type: "b" });
    const other = newDb();
    const foreign = await publish(other, "news", { type: "elsewhere" });
    const future = `${first.split("-")[0]}-999`;
    for (const last of ["not-an-id", foreign, future]) {
      const res = await poll(db, token, { last_message: last, channels: ["news"] });
      expect(res.body).toEqual({
        channel: "news",
        message: { message_id: first, type: "a" },
        gap: true,
      });
    }
  });

  it("delivers a notification to user:<id> (test_subscribe_message)", async () => {
    const db = newDb();
    const pending = poll(db, await tokenFor("1"), { last_message: null, channels: [] }, 10);
    await sleep(300);
    const sent = await call("POST", `/api/bus/${db}/notify`, {
      token: ADMIN,
      body: { title: "Test", body: "Message", user: "1" },
    });
    expect(sent.status).toBe(201);
    expect(sent.body.channel).toBe("user:1");
    const res = await pending;
    expect(res.body.message.message_id).toBe(sent.body.message_id);
    expect(res.body).toEqual({
      channel: "user:1",
      message: {
        message_id: sent.body.message_id,
        type: "notification",
        title: "Test",
        body: "Message",
        priority: 1,
      },
    });
  });

  it("drops the client's user:* channels and always adds its own", async () => {
    const db = newDb();
    const token = await tokenFor("u1");
    const first = await publishReserved(db, "user:u1", { type: "mine" });
    await publishReserved(db, "user:u2", { type: "theirs" });
    const own = await publishReserved(db, "user:u1", { type: "mine again" });
    const res = await poll(db, token, { last_message: first, channels: ["user:u2", "user:*"] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      channel: "user:u1",
      message: { message_id: own, type: "mine again" },
    });
  });

  it("answers a message arriving on any of several channels while parked", async () => {
    const db = newDb();
    const token = await tokenFor("u1", ["bus.listen:a", "bus.listen:b"]);
    const start = await publish(db, "a", { type: "start" });
    const pending = poll(db, token, { last_message: start, channels: ["a", "b"] }, 10);
    await sleep(200);
    const onB = await publish(db, "b", { type: "on b" });
    expect((await pending).body).toEqual({
      channel: "b",
      message: { message_id: onB, type: "on b" },
    });
  });
});

describe("bus notify", () => {
  it("sends to the client channel when a client is given, else to the user", async () => {
    const db = newDb();
    const both = await call("POST", `/api/bus/${db}/notify`, {
      token: ADMIN,
      body: { title: "Hi", user: "u1", client: "c-1", priority: 3 },
    });
    expect(both.body.channel).toBe("client:c-1");
    const token = await tokenFor("u9");
    const res = await poll(db, token, { last_message: "x", channels: ["client:c-1"] });
    expect(res.body.message).toEqual({
      message_id: both.body.message_id,
      type: "notification",
      title: "Hi",
      body: "",
      priority: 3,
    });
  });

  it("emits bus.notification after storing", async () => {
    const db = newDb();
    const sent = await call("POST", `/api/bus/${db}/notify`, {
      token: ADMIN,
      body: { title: "T", body: "B", priority: 0, user: "u1" },
    });
    expect(sent.status).toBe(201);
    const emitted = await env.DB.prepare(
      "SELECT data FROM webhook_events WHERE event_type = 'bus.notification' AND data LIKE ?",
    )
      .bind(`%"${db}"%`)
      .all<{ data: string }>();
    expect(emitted.results.map((r) => JSON.parse(r.data))).toEqual([
      { db, channel: "user:u1", title: "T", body: "B", priority: 0 },
    ]);
  });

  it("validates the notification and stores nothing when it is refused", async () => {
    const db = newDb();
    const cases: [unknown, string][] = [
      [{ title: "T" }, "user"],
      [{ title: "two\nlines", user: "u1" }, "title"],
      [{ title: "T", user: "u1", priority: 4 }, "priority"],
      [{ title: "T", user: "u1", priority: 1.5 }, "priority"],
      [{ title: "", user: "u1" }, "title"],
      [{ title: "T", client: "a b" }, "client"],
    ];
    for (const [body, field] of cases) {
      const res = await call("POST", `/api/bus/${db}/notify`, { token: ADMIN, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expectErrorShape(res.body);
      expect(Object.keys(res.body.error.details)).toContain(field);
    }
    const user = await call("POST", `/api/bus/${db}/notify`, {
      token: await tokenFor("u1", ["bus.publish"]),
      body: { title: "T", user: "u1" },
    });
    expect(user.status).toBe(403);
    expect(await busStub(env, db).listeners()).toBeDefined();
    const head = await poll(db, ADMIN, { last_message: "x", channels: ["user:u1"] });
    expect(head.body).toEqual(NOTHING);
  });
});

describe("bus publish", () => {
  it("needs admin or bus.publish and answers 201 {message_id}", async () => {
    const db = newDb();
    const body = { channel: "orders.eu", message: { type: "created", id: 7 } };
    expect((await call("POST", `/api/bus/${db}/publish`, { body })).status).toBe(401);
    const plain = await call("POST", `/api/bus/${db}/publish`, {
      token: await tokenFor("u1"),
      body,
    });
    expect(plain.status).toBe(403);
    const allowed = await call("POST", `/api/bus/${db}/publish`, {
      token: await tokenFor("u2", ["bus.publish"]),
      body,
    });
    expect(allowed.status).toBe(201);
    expect(Object.keys(allowed.body)).toEqual(["message_id"]);
  });

  it("refuses bad input with 400/413 and stores nothing", async () => {
    const db = newDb();
    const bad: [unknown, number][] = [
      [{ channel: "orders", message: {} }, 400],
      [{ channel: "orders", message: { type: "" } }, 400],
      [{ channel: "", message: { type: "t" } }, 400],
      [{ channel: "a,b", message: { type: "t" } }, 400],
      [{ message: { type: "t" } }, 400],
      [{ channel: "orders", message: { type: "t", blob: "x".repeat(70_000) } }, 413],
    ];
    for (const [body, status] of bad) {
      const res = await call("POST", `/api/bus/${db}/publish`, { token: ADMIN, body });
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expectErrorShape(res.body);
    }
    const raw = await call("POST", `/api/bus/${db}/publish`, { token: ADMIN, rawBody: "{nope" });
    expect(raw.status).toBe(400);
    const res = await poll(db, ADMIN, { last_message: "x", channels: ["orders", "a,b"] });
    expect(res.status).toBe(400);
    expect((await poll(db, ADMIN, { last_message: "x", channels: ["orders"] })).body).toEqual(
      NOTHING,
    );
  });

  it("refuses a bad namespace with 400", async () => {
    const res = await call("POST", "/api/bus/bad.name/publish", {
      token: ADMIN,
      body: { channel: "c", message: { type: "t" } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toHaveProperty("db");
  });
});

describe("bus poll: authorisation and input", () => {
  it("answers 403 before waiting for a channel the caller may not listen to", async () => {
    const db = newDb();
    const token = await tokenFor("u1", ["bus.listen:orders.*"]);
    const started = Date.now();
    const res = await poll(
      db,
      token,
      { last_message: null, channels: ["orders.eu", "payroll"] },
      30,
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.status).toBe(403);
    expectErrorShape(res.body);
    expect(res.body.error.details).toEqual({ channels: ["payroll"] });
    const glob = await poll(db, token, { last_message: null, channels: ["ordersX"] }, 30);
    expect(glob.status).toBe(403);
  });

  it("lets anyone listen to a client: channel it names and to its own user: channel", async () => {
    const db = newDb();
    const res = await poll(db, await tokenFor("u1"), {
      last_message: null,
      channels: ["client:5b1d", "user:u1"],
    });
    expect(res.status).toBe(200);
  });

  it("refuses no token with 401 and bad input with 400", async () => {
    const db = newDb();
    const token = await tokenFor("u1");
    expect(
      (await call("POST", `/${db}/bus`, { body: { last_message: null, channels: [] } })).status,
    ).toBe(401);
    const cases: [string, unknown][] = [
      [`/bad.db/bus`, { last_message: null, channels: [] }],
      [`/${"x".repeat(65)}/bus`, { last_message: null, channels: [] }],
      [`/${db}/bus`, { last_message: null, channels: "client:1" }],
      [`/${db}/bus`, { last_message: 5, channels: [] }],
      [`/${db}/bus?timeout=0`, { last_message: null, channels: [] }],
      [`/${db}/bus?timeout=61`, { last_message: null, channels: [] }],
      [`/${db}/bus?timeout=abc`, { last_message: null, channels: [] }],
    ];
    for (const [path, body] of cases) {
      const res = await call("POST", path, { token, body });
      expect(res.status, path).toBe(400);
      expectErrorShape(res.body);
    }
    expect((await call("POST", `/${db}/bus`, { token, rawBody: "{x" })).status).toBe(400);
  });

  it("releases a poll abandoned by its client; the next publish still answers the others", async () => {
    const db = newDb();
    const token = await tokenFor("u1", ["bus.listen:news"]);
    const stub = busStub(env, db);
    const ctrl = new AbortController();
    const abandoned = SELF.fetch(`${BASE}/${db}/bus?timeout=30`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ last_message: null, channels: ["news"] }),
      signal: ctrl.signal,
    }).catch((err) => err);
    void abandoned;
    await vi.waitFor(async () => expect((await stub.listeners()).polls).toBe(1));
    ctrl.abort();
    await vi.waitFor(async () => expect((await stub.listeners()).polls).toBe(0));
    const waiting = poll(db, token, { last_message: null, channels: ["news"] }, 10);
    await vi.waitFor(async () => expect((await stub.listeners()).polls).toBe(1));
    const id = await publish(db, "news", { type: "hello" });
    expect((await waiting).body.message.message_id).toBe(id);
    expect((await stub.listeners()).polls).toBe(0);
  });

  it("releases a timed-out poll", async () => {
    const db = newDb();
    await poll(db, await tokenFor("u1"), { last_message: null, channels: [] }, 1);
    expect((await busStub(env, db).listeners()).polls).toBe(0);
  });
});
