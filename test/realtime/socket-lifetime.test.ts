import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { busStub } from "../../src/features/bus/bus-channel";
import { pokerRoom } from "../../src/features/poker/poker-room";
import { personRoom } from "../../src/features/state/person-room";
import { threadRoom } from "../../src/features/threads/thread-room";
import { newDb } from "../helpers/bus";
import { ADMIN, call } from "../helpers/http";
import { createThread, party } from "../helpers/threads";
import { connect, type TestSocket } from "../helpers/ws";

/**
 * A socket lives only as long as its credential, in every room kind: `token_expiring` ahead of
 * the expiry, the in-band `auth` refresh, close 4401 at expiry or when its API key is revoked.
 * The clock is moved with fake `Date` (seen by the Worker and the rooms of this isolate) and the
 * rooms' alarms are run with `runDurableObjectAlarm`, except in the first test, which waits for
 * a real 2 s token and the room's own alarm.
 */

const SHOUT = "test.shout";

/** A client token minted through the real endpoint, with the expiry it answered (epoch ms). */
async function mint(id: string, permissions: string[] = [], ttl_seconds = 3600) {
  const res = await call("POST", "/api/tokens", {
    token: ADMIN,
    body: { user: { id, name: id }, permissions, ttl_seconds },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { token: res.body.token as string, expiresAt: Date.parse(res.body.expires_at) };
}

const untyped = (stub: unknown) => stub as DurableObjectStub;
const testRoom = (id: string) => env.TEST_ROOM.get(env.TEST_ROOM.idFromName(id));
const alarmOf = (stub: DurableObjectStub) =>
  runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());

/** Moves the clock of this isolate (Worker and rooms) to `at`; real timers keep running. */
function clockAt(at: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
}

afterEach(() => {
  vi.useRealTimers();
});

async function expectOpen(ws: TestSocket): Promise<void> {
  await ws.nothing(() => false, 100);
  expect(ws.closed).toBeNull();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a socket lives only as long as its credential", () => {
  it("a bus socket opened with a 2 s token is warned, closed 4401 by the room's own alarm, and gets no later notification", async () => {
    const db = newDb();
    const user = `short-${crypto.randomUUID().slice(0, 8)}`;
    const { token, expiresAt } = await mint(user, [], 2);
    const ws = await connect(`/ws/bus/${db}`, token);
    const warning = await ws.event("token_expiring", 3_000);
    expect(warning.data).toEqual({ expires_at: new Date(expiresAt).toISOString() });
    expect(Date.now()).toBeLessThan(expiresAt);
    const closed = await ws.waitClosed(4_000);
    expect(closed.code).toBe(4401);
    // The alarm aims at the expiry itself (the contract allows up to 60 s).
    expect(Date.now()).toBeLessThan(expiresAt + 2_000);

    const sent = await call("POST", `/api/bus/${db}/notify`, {
      token: ADMIN,
      body: { title: "Later", body: "after expiry", user },
    });
    expect(sent.status).toBe(201);
    await sleep(200);
    expect(ws.frames.filter((f) => f?.event === "message")).toEqual([]);
  });

  it("warns a long-lived token a minute ahead, once, closes at expiry, and leaves no alarm behind", async () => {
    const db = newDb();
    const stub = untyped(busStub(env, db));
    const { token, expiresAt } = await mint(`long-${crypto.randomUUID().slice(0, 8)}`);
    const ws = await connect(`/ws/bus/${db}`, token);
    // The join is reported once (live_rooms); then the room sleeps until the warning is due.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await alarmOf(stub)).toBe(expiresAt - 60_000);

    clockAt(expiresAt - 60_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const warning = await ws.event("token_expiring");
    expect(warning.data.expires_at).toBe(new Date(expiresAt).toISOString());
    expect(await alarmOf(stub)).toBe(expiresAt);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await ws.nothing((f) => f?.event === "token_expiring", 100);
    expect(ws.closed).toBeNull();

    clockAt(expiresAt);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await ws.waitClosed()).code).toBe(4401);
    expect(await alarmOf(stub)).toBeNull();
  });

  it("warns a token that lived just over a minute at least 30 s ahead", async () => {
    const db = newDb();
    const { token, expiresAt } = await mint(`brief-${crypto.randomUUID().slice(0, 8)}`, [], 70);
    await connect(`/ws/bus/${db}`, token);
    const warnAt = await alarmOf(untyped(busStub(env, db)));
    expect(warnAt).not.toBeNull();
    expect(warnAt!).toBeLessThanOrEqual(expiresAt - 30_000);
    expect(warnAt!).toBeGreaterThan(Date.now());
  });

  it("never expires an admin socket: a room holding only admin sockets sets no alarm", async () => {
    const db = newDb();
    const ws = await connect(`/ws/bus/${db}?channels=orders`, ADMIN);
    await expectOpen(ws);
    // The one alarm is the join's report (live_rooms); after it, none.
    expect(await runDurableObjectAlarm(untyped(busStub(env, db)))).toBe(true);
    expect(await alarmOf(untyped(busStub(env, db)))).toBeNull();
    // Only the admin token refreshes an admin socket, and there is no expiry to report.
    const refreshed = await ws.request("auth", { token: ADMIN });
    expect(refreshed).toMatchObject({ status: 200, data: { expires_at: null } });
    const user = await mint(`not-admin-${crypto.randomUUID().slice(0, 8)}`);
    expect((await ws.request("auth", { token: user.token })).status).toBe(401);
    expect(await alarmOf(untyped(busStub(env, db)))).toBeNull();
    ws.close();
  });

  it("a frame that arrives after the expiry, before the alarm, gets 401 and the socket closes 4401", async () => {
    const id = crypto.randomUUID();
    const { token, expiresAt } = await mint("late-frame");
    const ws = await connect(`/ws/test/${id}`, token);
    await ws.event("welcome");
    clockAt(expiresAt + 1);
    const reply = await ws.request("echo", { text: "too late" });
    expect(reply).toMatchObject({ status: 401, errors: ["The credential has expired"] });
    expect((await ws.waitClosed()).code).toBe(4401);
  });
});

describe("the in-band auth refresh", () => {
  it("a fresh token of the same user keeps the socket past the old expiry, with the new permissions", async () => {
    const id = crypto.randomUUID();
    const user = `refresh-${crypto.randomUUID().slice(0, 8)}`;
    const first = await mint(user);
    const ws = await connect(`/ws/test/${id}`, first.token);
    await ws.event("welcome");
    expect((await ws.request("shout", { text: "no" })).status).toBe(403);

    // The test room drops silent sockets: the socket speaks at each step of the clock.
    clockAt(first.expiresAt - 60_000);
    expect((await ws.request("echo", { text: "active" })).status).toBe(200);
    await runDurableObjectAlarm(untyped(testRoom(id)));
    await ws.event("token_expiring");
    const fresh = await mint(user, [SHOUT], 7200);
    const reply = await ws.request("auth", { token: fresh.token });
    expect(reply).toEqual({
      request_id: reply.request_id,
      status: 200,
      errors: [],
      data: { expires_at: new Date(fresh.expiresAt).toISOString() },
    });
    expect((await ws.request("shout", { text: "now allowed" })).status).toBe(200);

    clockAt(first.expiresAt + 1_000);
    expect((await ws.request("echo", { text: "still here" })).status).toBe(200);
    expect(await runDurableObjectAlarm(untyped(testRoom(id)))).toBe(true);
    await expectOpen(ws);
    // The new credential is warned in its turn, once.
    clockAt(fresh.expiresAt - 60_000);
    expect((await ws.request("echo", { text: "active" })).status).toBe(200);
    await runDurableObjectAlarm(untyped(testRoom(id)));
    expect((await ws.event("token_expiring")).data.expires_at).toBe(
      new Date(fresh.expiresAt).toISOString(),
    );
    ws.close();
  });

  it("another user's token, an invalid one or a malformed frame changes nothing", async () => {
    const id = crypto.randomUUID();
    const user = `holder-${crypto.randomUUID().slice(0, 8)}`;
    const own = await mint(user);
    const ws = await connect(`/ws/test/${id}`, own.token);
    await ws.event("welcome");

    const stranger = await mint(`stranger-${crypto.randomUUID().slice(0, 8)}`, [SHOUT], 7200);
    const foreign = await ws.request("auth", { token: stranger.token });
    expect(foreign).toMatchObject({
      status: 401,
      errors: ["The token must belong to this socket's user"],
    });
    expect((await ws.request("auth", { token: "not-a-token" })).status).toBe(401);
    expect((await ws.request("auth", { token: ADMIN })).status).toBe(401);
    const malformed = await ws.request("auth", {});
    expect(malformed.status).toBe(400);
    expect(malformed.errors[0]).toMatch(/^data\.token/);
    ws.send({ event: "auth", data: { token: stranger.token } });
    expect((await ws.event("error")).data.status).toBe(401);
    expect((await ws.request("shout", { text: "still not" })).status).toBe(403);

    // The socket still ends with its own credential (it speaks first: silent ones are dropped).
    clockAt(own.expiresAt - 1_000);
    expect((await ws.request("echo", { text: "active" })).status).toBe(200);
    clockAt(own.expiresAt);
    await runDurableObjectAlarm(untyped(testRoom(id)));
    expect((await ws.waitClosed()).code).toBe(4401);
  });

  it("cannot be shadowed by a room's own `auth` command", async () => {
    // The test room declares an `auth` command of its own; the base room's refresh answers.
    const id = crypto.randomUUID();
    const user = `shadow-${crypto.randomUUID().slice(0, 8)}`;
    const ws = await connect(`/ws/test/${id}`, (await mint(user)).token);
    await ws.event("welcome");
    const fresh = await mint(user, [], 7200);
    const reply = await ws.request("auth", { token: fresh.token });
    expect(reply).toMatchObject({
      status: 200,
      data: { expires_at: new Date(fresh.expiresAt).toISOString() },
    });
    ws.close();
  });

  it("poker lists the refreshed permissions of a participant", async () => {
    const session = await call("POST", "/api/poker/sessions", {
      token: ADMIN,
      body: { name: "Refresh" },
    });
    const user = `voter-${crypto.randomUUID().slice(0, 8)}`;
    const ws = await connect(`/ws/poker/${session.body.id}`, (await mint(user)).token);
    const before = await ws.event("participants_changed");
    expect(before.data.participants).toEqual([
      expect.objectContaining({ id: user, permissions: [] }),
    ]);
    const fresh = await mint(user, ["planning_poker.vote"], 7200);
    expect((await ws.request("auth", { token: fresh.token })).status).toBe(200);
    const after = await ws.event("participants_changed");
    expect(after.data.participants).toEqual([
      expect.objectContaining({ id: user, permissions: ["planning_poker.vote"] }),
    ]);
    ws.close();
  });

  it("a bus socket whose refreshed token no longer allows one of its channels is closed 4403", async () => {
    const db = newDb();
    const user = `listener-${crypto.randomUUID().slice(0, 8)}`;
    const ws = await connect(
      `/ws/bus/${db}?channels=orders`,
      (await mint(user, ["bus.listen:orders"])).token,
    );
    const narrower = await mint(user, [], 7200);
    expect((await ws.request("auth", { token: narrower.token })).status).toBe(200);
    expect((await ws.waitClosed()).code).toBe(4403);
  });

  it("a state observer whose refreshed token lost 'state.observe' is closed 4403", async () => {
    const key = `p-${crypto.randomUUID()}`;
    await call("POST", "/api/persons", { token: ADMIN, body: { key, name: "Ada" } });
    const user = `observer-${crypto.randomUUID().slice(0, 8)}`;
    const ws = await connect(`/ws/persons/${key}`, (await mint(user, ["state.observe"])).token);
    await expectOpen(ws);
    const without = await mint(user, [], 7200);
    expect((await ws.request("auth", { token: without.token })).status).toBe(200);
    expect((await ws.waitClosed()).code).toBe(4403);
  });
});

describe("a thread observer's refresh", () => {
  it("keeps the observer while 'threads.observe' is granted and closes it 4403 once it is not", async () => {
    const ada = await party("ada");
    const thread = await createThread(ada);
    const user = `watcher-${crypto.randomUUID().slice(0, 8)}`;
    const first = await mint(user, ["threads.observe"]);
    const subscribed = await call("POST", `/api/threads/${thread}/ws-subscribe`, {
      token: first.token,
    });
    expect(subscribed.status).toBe(204);
    const ws = await connect(`/ws/threads/${thread}`, first.token);
    const still = await mint(user, ["threads.observe"], 7200);
    expect((await ws.request("auth", { token: still.token })).status).toBe(200);
    await expectOpen(ws);
    const without = await mint(user, [], 7200);
    expect((await ws.request("auth", { token: without.token })).status).toBe(200);
    expect((await ws.waitClosed()).code).toBe(4403);
  });
});

describe("every room kind closes 4401 at expiry through the base room", () => {
  it("bus, poker, threads and persons", async () => {
    const suffix = crypto.randomUUID().slice(0, 8);
    const db = newDb();
    const session = (
      await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name: "Expiry" } })
    ).body;
    const ada = await party("ada");
    const thread = await createThread(ada);
    const key = `p-${suffix}`;
    await call("POST", "/api/persons", { token: ADMIN, body: { key, name: "Ada" } });

    const bus = await mint(`bus-${suffix}`);
    const poker = await mint(`poker-${suffix}`);
    const member = await mint(ada.id);
    const person = await mint(key);
    const rooms = [
      { stub: untyped(busStub(env, db)), ws: await connect(`/ws/bus/${db}`, bus.token) },
      {
        stub: untyped(pokerRoom(env, session.id)),
        ws: await connect(`/ws/poker/${session.id}`, poker.token),
      },
      {
        stub: untyped(threadRoom(env, thread)),
        ws: await connect(`/ws/threads/${thread}`, member.token),
      },
      {
        stub: untyped(personRoom(env, key)),
        ws: await connect(`/ws/persons/${key}`, person.token),
      },
    ];
    // An admin socket in the poker room sees the expired participant leave (the leave hook ran).
    const watcher = await connect(`/ws/poker/${session.id}`, ADMIN);
    const latest = Math.max(bus.expiresAt, poker.expiresAt, member.expiresAt, person.expiresAt);

    // Poker drops silent sockets: both poker sockets speak just before the expiry.
    clockAt(latest - 1_000);
    const poker2 = rooms[1]!.ws;
    expect((await poker2.request("heartbeat", {})).status).toBe(200);
    expect((await watcher.request("heartbeat", {})).status).toBe(200);
    await watcher.next(
      (f) => f?.event === "participants_changed" && f.data.participants.length === 2,
      "both participants listed",
    );

    clockAt(latest);
    for (const { stub } of rooms) expect(await runDurableObjectAlarm(stub)).toBe(true);
    for (const { ws } of rooms) expect((await ws.waitClosed()).code).toBe(4401);
    await watcher.next(
      (f) => f?.event === "participants_changed" && f.data.participants.length === 1,
      "the expired participant gone from the list",
    );
    await expectOpen(watcher);
    watcher.close();
  });
});

describe("API keys on sockets", () => {
  it("closes a key's socket 4401 once the key is revoked, checking at most every 30 s", async () => {
    const db = newDb();
    const stub = untyped(busStub(env, db));
    const user = `keyed-${crypto.randomUUID().slice(0, 8)}`;
    const created = await call("POST", "/api/keys", {
      token: ADMIN,
      body: { name: "Server", user: { id: user, name: "Server" }, permissions: [] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const ws = await connect(`/ws/bus/${db}`, created.body.key);
    const opened = Date.now();
    const alarm = await alarmOf(stub);
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(opened + 30_000);

    // A live key: the check keeps the socket.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await expectOpen(ws);

    expect((await call("DELETE", `/api/keys/${created.body.id}`, { token: ADMIN })).status).toBe(
      204,
    );
    // Within the 30 s since the last check the room does not ask D1 again...
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await expectOpen(ws);
    // ...and at the next check the revoked key's socket goes.
    clockAt(Date.now() + 30_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await ws.waitClosed()).code).toBe(4401);
  });
});
