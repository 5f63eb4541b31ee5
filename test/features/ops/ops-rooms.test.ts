import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { busStub } from "../../../src/features/bus/bus-channel";
import { poll, publish } from "../../helpers/bus";
import { ADMIN, call, expectErrorShape, tokenFor } from "../../helpers/http";
import { connect, type TestSocket } from "../../helpers/ws";

const newDb = () => `ops-${crypto.randomUUID().slice(0, 8)}`;

/** The row a room wrote into live_rooms, read straight from D1 (null: it never wrote one). */
async function liveRow(kind: string, id: string) {
  return env.DB.prepare("SELECT * FROM live_rooms WHERE kind = ? AND id = ?")
    .bind(kind, id)
    .first<{ sockets: number; messages_24h: number | null; last_event_at: number | null }>();
}

/** Runs the room's alarm until its row shows `sockets` (a close reaches the room asynchronously). */
async function reportedSockets(stub: DurableObjectStub, kind: string, id: string, sockets: number) {
  await vi.waitFor(
    async () => {
      await runDurableObjectAlarm(stub);
      const row = await liveRow(kind, id);
      if (row?.sockets !== sockets) {
        throw new Error(`${kind}/${id} reported ${row?.sockets}, expected ${sockets}`);
      }
    },
    { timeout: 10_000, interval: 50 },
  );
}

async function pokerSession(): Promise<string> {
  const res = await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name: "Ops" } });
  expect(res.status).toBe(201);
  return res.body.id;
}

describe("rooms report their sockets in batches", () => {
  it("writes nothing per join, then one row from the alarm; 0 after the last socket left", async () => {
    const session = await pokerSession();
    const stub = env.POKER_ROOM.get(env.POKER_ROOM.idFromName(session));
    const token = await tokenFor("ops-voter", ["planning_poker.vote"]);
    const sockets: TestSocket[] = [];
    for (let i = 0; i < 3; i++) sockets.push(await connect(`/ws/poker/${session}`, token));
    // Joins are gathered: no D1 write happened while the sockets connected.
    expect(await liveRow("poker", session)).toBeNull();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await liveRow("poker", session))?.sockets).toBe(3);

    const listed = await call("GET", "/api/rooms?kind=poker&limit=200", { token: ADMIN });
    expect(listed.status).toBe(200);
    // Joining is not a stream event in poker: no event yet, so no `last_event_at`.
    expect(listed.body.results).toContainEqual({
      kind: "poker",
      id: session,
      sockets: 3,
      shards: 1,
      last_event_at: null,
    });
    const stats = await call("GET", "/api/stats", { token: ADMIN });
    expect(stats.status).toBe(200);
    expect(stats.body.rooms.poker.sockets).toBeGreaterThanOrEqual(3);
    expect(stats.body.rooms.poker.active).toBeGreaterThanOrEqual(1);

    for (const ws of sockets) ws.close();
    await reportedSockets(stub, "poker", session, 0);
    const after = await call("GET", "/api/rooms?kind=poker&limit=200", { token: ADMIN });
    expect(after.body.results.map((r: { id: string }) => r.id)).not.toContain(session);
  });

  it("an alarm with nothing changed writes nothing", async () => {
    const session = await pokerSession();
    const stub = env.POKER_ROOM.get(env.POKER_ROOM.idFromName(session));
    const ws = await connect(`/ws/poker/${session}`, await tokenFor("ops-quiet"));
    await runDurableObjectAlarm(stub);
    await env.DB.prepare("UPDATE live_rooms SET updated_at = 1 WHERE kind = 'poker' AND id = ?")
      .bind(session)
      .run();
    await runDurableObjectAlarm(stub);
    const row = await env.DB.prepare("SELECT updated_at FROM live_rooms WHERE id = ?")
      .bind(session)
      .first<{ updated_at: number }>();
    expect(row?.updated_at).toBe(1);
    ws.close();
  });

  it("a bus namespace reports its listeners (sockets and long polls) and messages", async () => {
    const db = newDb();
    const stub = busStub(env, db);
    const token = await tokenFor("ops-listener", ["bus.listen:orders.*"]);
    const ws = await connect(`/ws/bus/${db}?channels=orders.eu`, token);
    await publish(db, "orders.eu", { type: "created" });
    await publish(db, "orders.us", { type: "created" });
    const parked = poll(db, token, { channels: ["orders.eu"], last_message: null }, 3);
    await reportedSockets(stub, "bus", db, 2);
    expect((await liveRow("bus", db))?.messages_24h).toBe(2);
    const stats = await call("GET", "/api/stats", { token: ADMIN });
    expect(stats.body.bus[db]).toEqual({ messages_24h: 2, subscribers: 2 });
    const rooms = await call("GET", "/api/rooms?kind=bus&limit=200", { token: ADMIN });
    // The latest publish, to the minute.
    expect(rooms.body.results.find((r: { id: string }) => r.id === db)).toMatchObject({
      sockets: 2,
      last_event_at: expect.stringMatching(/:00\.000Z$/),
    });
    await parked;
    ws.close();
    await reportedSockets(stub, "bus", db, 0);
  });
});

describe("GET /api/bus/:db/channels/:channel", () => {
  it("counts the channel's listeners and names its newest message, for listeners of it", async () => {
    const db = newDb();
    const listener = await tokenFor("ops-ch", ["bus.listen:orders.*"]);
    const ws = await connect(`/ws/bus/${db}?channels=orders.eu,orders.us`, listener);
    const other = await connect(`/ws/bus/${db}?channels=orders.us`, listener);
    const empty = await call("GET", `/api/bus/${db}/channels/orders.eu`, { token: listener });
    expect(empty).toMatchObject({
      status: 200,
      body: { channel: "orders.eu", subscribers: 1, last_message_id: null },
    });
    const id = await publish(db, "orders.eu");
    const info = await call("GET", `/api/bus/${db}/channels/orders.eu`, { token: ADMIN });
    expect(info.body).toEqual({ channel: "orders.eu", subscribers: 1, last_message_id: id });

    const own = await call("GET", `/api/bus/${db}/channels/user%3Aops-ch`, { token: listener });
    expect(own.status).toBe(200);
    for (const [path, token] of [
      ["orders.eu", await tokenFor("ops-none")],
      [encodeURIComponent("user:someone-else"), listener],
      ["billing", listener],
    ] as const) {
      const refused = await call("GET", `/api/bus/${db}/channels/${path}`, { token });
      expect(refused.status, path).toBe(403);
      expectErrorShape(refused.body);
    }
    ws.close();
    other.close();
  });

  it("refuses a bad namespace or channel name with 400", async () => {
    const bad = await call("GET", "/api/bus/bad%20db/channels/a", { token: ADMIN });
    expect(bad.status).toBe(400);
    const comma = await call("GET", "/api/bus/ok/channels/a%2Cb", { token: ADMIN });
    expect(comma.status).toBe(400);
    expectErrorShape(comma.body);
  });
});

describe("GET /api/stats and /api/rooms", () => {
  it("are the admin's", async () => {
    const client = await tokenFor("ops-client", ["bus.listen:*"]);
    for (const path of ["/api/stats", "/api/rooms"]) {
      expect((await call("GET", path)).status).toBe(401);
      expect((await call("GET", path, { token: client })).status).toBe(403);
    }
  });

  it("bounds the query", async () => {
    for (const query of ["limit=201", "limit=0", "offset=-1", "kind=NOT%20A%20KIND"]) {
      const res = await call("GET", `/api/rooms?${query}`, { token: ADMIN });
      expect(res.status, query).toBe(400);
      expectErrorShape(res.body);
    }
  });

  it("counts active hooks and the deliveries' outcomes", async () => {
    const before = (await call("GET", "/api/stats", { token: ADMIN })).body.webhooks;
    const hook = await call("POST", "/api/webhooks", {
      token: ADMIN,
      body: {
        event_type: "poker.session_ended",
        target_url: `https://hooks.example.com/${crypto.randomUUID()}`,
      },
    });
    expect(hook.status).toBe(201);
    const stats = await call("GET", "/api/stats", { token: ADMIN });
    expect(stats.body.webhooks.hooks_active).toBe(before.hooks_active + 1);
    expect(stats.body).toMatchObject({
      webhooks: {
        deliveries_pending: expect.any(Number),
        deliveries_failed_24h: expect.any(Number),
      },
      generated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const rate = stats.body.webhooks.success_rate_24h;
    expect(rate === null || (rate >= 0 && rate <= 1)).toBe(true);
  });
});
