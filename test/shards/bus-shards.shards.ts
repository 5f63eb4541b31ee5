import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { busShardStub, busStub } from "../../src/features/bus/bus-channel";
import { newDb, openSse, poll, publish, type SseReader } from "../helpers/bus";
import { ADMIN, call, tokenFor } from "../helpers/http";
import { connect, type TestSocket } from "../helpers/ws";

/** ROOM_SHARD_SOCKETS is 3 here: a namespace holds 3 listeners, then its shards take the rest. */
const SHARD = 3;

const messages = (ws: TestSocket) =>
  ws.frames.filter((f) => f?.event === "message").map((f) => f.data.message.n as number);

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("bus listeners on shards", () => {
  it("WebSockets on the namespace and its shards get every message once, in order", async () => {
    const db = newDb();
    const token = await tokenFor("bus-fan", ["bus.listen:orders.*"]);
    const sockets: TestSocket[] = [];
    for (let i = 0; i < SHARD * 2 + 1; i++) {
      sockets.push(await connect(`/ws/bus/${db}?channels=orders.a`, token));
    }
    expect((await busStub(env, db).listeners()).sockets).toBe(SHARD);
    expect((await busShardStub(env, db, 1).listeners()).sockets).toBe(SHARD);
    for (let n = 1; n <= 15; n++) await publish(db, "orders.a", { type: "t", n });
    await publish(db, "orders.other", { type: "t", n: 99 });
    for (const ws of sockets) await until("15 messages", () => messages(ws).length >= 15);
    await new Promise((r) => setTimeout(r, 200));
    for (const ws of sockets) {
      expect(messages(ws)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    }
    for (const ws of sockets) ws.close();
  });

  it("a socket that lands on a shard catches up from last_message, then continues live", async () => {
    const db = newDb();
    const token = await tokenFor("bus-resume", ["bus.listen:orders.*"]);
    const first = await publish(db, "orders.a", { type: "t", n: 1 });
    await publish(db, "orders.a", { type: "t", n: 2 });
    const fillers: TestSocket[] = [];
    for (let i = 0; i < SHARD; i++) {
      fillers.push(await connect(`/ws/bus/${db}?channels=orders.a`, token));
    }
    const late = await connect(`/ws/bus/${db}?channels=orders.a&last_message=${first}`, token);
    expect((await busShardStub(env, db, 1).listeners()).sockets).toBe(1);
    await publish(db, "orders.a", { type: "t", n: 3 });
    await until("2 and 3", () => messages(late).length >= 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(messages(late)).toEqual([2, 3]);
    for (const ws of [...fillers, late]) ws.close();
  });

  it("long polls past the limit park on a shard and get the next message", async () => {
    const db = newDb();
    const token = await tokenFor("bus-poll", ["bus.listen:orders.*"]);
    const fillers: TestSocket[] = [];
    for (let i = 0; i < SHARD; i++) {
      fillers.push(await connect(`/ws/bus/${db}?channels=orders.a`, token));
    }
    const first = await publish(db, "orders.a", { type: "t", n: 1 });
    // A poll from now parks (on a shard: the namespace is full) and ends empty at its timeout.
    const empty = await poll(db, token, { last_message: null, channels: ["orders.a"] }, 1);
    expect(empty.body).toEqual({ channel: null, message: null });
    const waiting = [
      poll(db, token, { last_message: first, channels: ["orders.a"] }, 10),
      poll(db, token, { last_message: first, channels: ["orders.a"] }, 10),
    ];
    await until("two polls parked on shard 1", async () => {
      return (await busShardStub(env, db, 1).listeners()).polls === 2;
    });
    expect((await busStub(env, db).listeners()).polls).toBe(0);
    const second = await publish(db, "orders.a", { type: "t", n: 2 });
    for (const res of await Promise.all(waiting)) {
      expect(res.status).toBe(200);
      expect(res.body.message).toMatchObject({ message_id: second, n: 2 });
    }
    // A poll whose message is already stored is answered by the namespace, wherever it goes.
    const again = await poll(db, token, { last_message: first, channels: ["orders.a"] }, 5);
    expect(again.body.message.message_id).toBe(second);
    for (const ws of fillers) ws.close();
  });

  it("SSE streams past the limit open on a shard: backlog after Last-Event-ID, then live", async () => {
    const db = newDb();
    const token = await tokenFor("bus-sse", ["bus.listen:orders.*"]);
    const first = await publish(db, "orders.a", { type: "t", n: 1 });
    await publish(db, "orders.a", { type: "t", n: 2 });
    const fillers: TestSocket[] = [];
    for (let i = 0; i < SHARD; i++) {
      fillers.push(await connect(`/ws/bus/${db}?channels=orders.a`, token));
    }
    const sse = (await openSse(db, token, ["orders.a"], first)) as SseReader;
    expect((await sse.next()).data.message.n).toBe(2);
    expect((await busShardStub(env, db, 1).listeners()).streams).toBe(1);
    expect((await busStub(env, db).listeners()).streams).toBe(0);
    await publish(db, "orders.a", { type: "t", n: 3 });
    expect((await sse.next()).data.message.n).toBe(3);
    await sse.close();
    for (const ws of fillers) ws.close();
  });

  it("a shard socket's token refresh runs the namespace's check: a lost channel closes it 4403", async () => {
    const db = newDb();
    const token = await tokenFor("bus-auth", ["bus.listen:orders.*"]);
    const fillers: TestSocket[] = [];
    for (let i = 0; i < SHARD; i++) {
      fillers.push(await connect(`/ws/bus/${db}?channels=orders.a`, token));
    }
    const onShard = await connect(`/ws/bus/${db}?channels=orders.a`, token);
    expect((await busShardStub(env, db, 1).listeners()).sockets).toBe(1);
    const same = await tokenFor("bus-auth", ["bus.listen:orders.*"]);
    expect((await onShard.request("auth", { token: same })).status).toBe(200);
    const weaker = await tokenFor("bus-auth", []);
    expect((await onShard.request("auth", { token: weaker })).status).toBe(200);
    expect((await onShard.waitClosed()).code).toBe(4403);
    for (const ws of fillers) ws.close();
  });

  it("counts a channel's listeners on the namespace and every shard, and drops when one leaves", async () => {
    const db = newDb();
    const token = await tokenFor("bus-count", ["bus.listen:orders.*"]);
    const subscribers = async () => {
      const res = await call("GET", `/api/bus/${db}/channels/orders.a`, { token: ADMIN });
      expect(res.status).toBe(200);
      return res.body.subscribers as number;
    };
    // The namespace: two sockets of orders.a and one of another channel (not counted).
    const here = [
      await connect(`/ws/bus/${db}?channels=orders.a`, token),
      await connect(`/ws/bus/${db}?channels=orders.a,orders.b`, token),
      await connect(`/ws/bus/${db}?channels=orders.b`, token),
    ];
    // Shard 1: a socket, an SSE stream and a parked long poll, all of orders.a.
    const onShard1 = await connect(`/ws/bus/${db}?channels=orders.a`, token);
    const sse = (await openSse(db, token, ["orders.a"])) as SseReader;
    const parked = poll(db, token, { last_message: null, channels: ["orders.a"] }, 10);
    await until("the poll parked on shard 1", async () => {
      return (await busShardStub(env, db, 1).listeners()).polls === 1;
    });
    // Shard 2: one more socket.
    const onShard2 = await connect(`/ws/bus/${db}?channels=orders.a`, token);
    expect((await busShardStub(env, db, 2).listeners()).sockets).toBe(1);
    // Without the shards' counts this is 2.
    expect(await subscribers()).toBe(6);
    onShard2.close();
    await until("the shard 2 socket counted out", async () => (await subscribers()) === 5);
    onShard1.close();
    await until("the shard 1 socket counted out", async () => (await subscribers()) === 4);
    await publish(db, "orders.a", { type: "t", n: 1 });
    expect((await parked).status).toBe(200);
    await until("the answered poll counted out", async () => (await subscribers()) === 3);
    await sse.close();
    for (const ws of here) ws.close();
  });
});
