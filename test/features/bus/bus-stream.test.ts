import { abortAllDurableObjects, env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { busStub } from "../../../src/features/bus/bus-channel";
import { endWhenSilent } from "../../../src/features/bus/watchdog";
import { newDb, openSse, publish, publishReserved, SseReader } from "../../helpers/bus";
import { tokenFor } from "../../helpers/http";
import { connect, tryConnect } from "../../helpers/ws";

const wsPath = (db: string, channels: string[], last?: string) =>
  `/ws/bus/${db}?channels=${encodeURIComponent(channels.join(","))}${
    last ? `&last_message=${encodeURIComponent(last)}` : ""
  }`;

describe("bus WebSocket /ws/bus/:db", () => {
  it("refuses before the upgrade: 401 without a token, 403 for a foreign channel, 400 for a bad db", async () => {
    const db = newDb();
    expect(((await tryConnect(wsPath(db, ["client:1"]))) as Response).status).toBe(401);
    const token = await tokenFor("u1", ["bus.listen:orders.*"]);
    const refused = (await tryConnect(wsPath(db, ["orders.eu", "payroll"]), token)) as Response;
    expect(refused.status).toBe(403);
    expect((await refused.json<any>()).error.details).toEqual({ channels: ["payroll"] });
    expect(((await tryConnect(wsPath("bad.db", ["client:1"]), token)) as Response).status).toBe(
      400,
    );
  });

  it("sends a publish retried with its key once: the retry answers without a second frame", async () => {
    const db = newDb();
    const ws = await connect(
      wsPath(db, ["orders.eu"]),
      await tokenFor("u1", ["bus.listen:orders.*"]),
    );
    const stub = busStub(env, db);
    const first = await stub.publishMessage(db, "orders.eu", { type: "paid" }, "retry-key");
    const retried = await stub.publishMessage(db, "orders.eu", { type: "paid" }, "retry-key");
    expect(retried).toEqual(first);
    expect((await ws.event("message")).data.message.message_id).toBe(first.message_id);
    await ws.nothing((f) => f?.event === "message", 200);
    ws.close();
  });

  it("pushes messages of its channels (and its own user: channel) as `message` events", async () => {
    const db = newDb();
    const ws = await connect(
      wsPath(db, ["orders.eu", "user:u2"]),
      await tokenFor("u1", ["bus.listen:orders.*"]),
    );
    await publishReserved(db, "user:u2", { type: "not mine" });
    await publish(db, "orders.us", { type: "not listened" });
    const id = await publish(db, "orders.eu", { type: "shipped", order: 7 });
    const own = await publishReserved(db, "user:u1", { type: "mine" });
    expect(await ws.event("message")).toEqual({
      event: "message",
      data: { channel: "orders.eu", message: { message_id: id, type: "shipped", order: 7 } },
    });
    expect((await ws.event("message")).data).toEqual({
      channel: "user:u1",
      message: { message_id: own, type: "mine" },
    });
    await ws.nothing((f) => f?.event === "message", 200);
    ws.close();
  });

  it("reaches sockets of more channels than hibernation tags allow, and only on their channels", async () => {
    const db = newDb();
    const token = await tokenFor("u1", ["bus.listen:c.*"]);
    const many = Array.from({ length: 12 }, (_, i) => `c.${i}`);
    const wide = await connect(wsPath(db, many), token);
    const narrow = await connect(wsPath(db, ["c.0", "c.11"]), token);
    const other = await connect(wsPath(db, many.slice(0, 11).concat("c.x")), token);
    const id = await publish(db, "c.11", { type: "last" });
    for (const ws of [wide, narrow]) {
      expect((await ws.event("message")).data.message.message_id).toBe(id);
    }
    await other.nothing((f) => f?.event === "message", 200);
    for (const ws of [wide, narrow, other]) ws.close();
  });

  it("starts from now without last_message, replays after it with it, and flags a gap", async () => {
    const db = newDb();
    const token = await tokenFor("u1", ["bus.listen:news"]);
    const ids = [
      await publish(db, "news", { type: "a" }),
      await publish(db, "news", { type: "b" }),
      await publish(db, "news", { type: "c" }),
    ];
    const fresh = await connect(wsPath(db, ["news"]), token);
    await fresh.nothing((f) => f?.event === "message", 200);

    const resumed = await connect(wsPath(db, ["news"], ids[0]), token);
    expect((await resumed.event("message")).data.message.message_id).toBe(ids[1]);
    expect((await resumed.event("message")).data.message.message_id).toBe(ids[2]);

    const lost = await connect(wsPath(db, ["news"], "unknown-id"), token);
    const first = await lost.event("message");
    expect(first.data).toEqual({
      channel: "news",
      message: { message_id: ids[0], type: "a" },
      gap: true,
    });
    expect((await lost.event("message")).data.gap).toBeUndefined();

    const live = await publish(db, "news", { type: "d" });
    for (const ws of [fresh, resumed]) {
      expect((await ws.event("message")).data.message.message_id).toBe(live);
      ws.close();
    }
    lost.close();
  });

  it("answers client frames with errors and stays open", async () => {
    const db = newDb();
    const ws = await connect(wsPath(db, []), await tokenFor("u1"));
    const reply = await ws.request("publish", { channel: "x" });
    expect(reply.status).toBe(400);
    const id = await publishReserved(db, "user:u1", { type: "still open" });
    expect((await ws.event("message")).data.message.message_id).toBe(id);
    ws.close();
  });
});

describe("bus SSE /:db/bus/stream", () => {
  it("refuses 401 without a token and 403 for a foreign channel", async () => {
    const db = newDb();
    const missing = await openSse(db, "", ["client:1"]);
    expect((missing as Response).status).toBe(401);
    const token = await tokenFor("u1");
    const refused = (await openSse(db, token, ["payroll"])) as Response;
    expect(refused.status).toBe(403);
    expect((await refused.json<any>()).error.code).toBe("forbidden");
  });

  it("streams `id:` + `data:` events of its channels", async () => {
    const db = newDb();
    const stream = (await openSse(db, await tokenFor("u1"), ["client:c1"])) as SseReader;
    expect(stream.response.headers.get("Content-Type")).toBe("text/event-stream");
    await publishReserved(db, "client:other", { type: "no" });
    const id = await publishReserved(db, "client:c1", { type: "yes" });
    const event = await stream.next();
    expect(event).toEqual({
      id,
      data: { channel: "client:c1", message: { message_id: id, type: "yes" } },
    });
    await stream.close();
  });

  it("resumes after Last-Event-ID (or ?last_message=) and flags an unknown one as a gap", async () => {
    const db = newDb();
    const token = await tokenFor("u1");
    const a = await publishReserved(db, "user:u1", { type: "a" });
    const b = await publishReserved(db, "user:u1", { type: "b" });
    const resumed = (await openSse(db, token, [], a)) as SseReader;
    expect((await resumed.next()).id).toBe(b);
    await resumed.close();

    const byQuery = await fetchSse(`/${db}/bus/stream?last_message=${a}`, token);
    expect((await byQuery.next()).id).toBe(b);
    await byQuery.close();

    const gap = (await openSse(db, token, [], "foreign-id")) as SseReader;
    expect((await gap.next()).data).toEqual({
      channel: "user:u1",
      message: { message_id: a, type: "a" },
      gap: true,
    });
    expect((await gap.next()).data.gap).toBeUndefined();
    await gap.close();
  });

  it("drops a stream the client closed", async () => {
    const db = newDb();
    const token = await tokenFor("u1");
    const stub = busStub(env, db);
    const stream = (await openSse(db, token, [])) as SseReader;
    await vi.waitFor(async () => expect((await stub.listeners()).streams).toBe(1));
    await stream.close();
    await publishReserved(db, "user:u1", { type: "after close" });
    await vi.waitFor(async () => expect((await stub.listeners()).streams).toBe(0));
  });

  it("ends a stream that falls silent (missed heartbeats), so the client reconnects", async () => {
    let cancelled = false;
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(": connected\n\n"));
      },
      cancel() {
        cancelled = true;
      },
    });
    const reader = endWhenSilent(stalled, 100).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe(": connected\n\n");
    expect((await reader.read()).done).toBe(true);
    expect(cancelled).toBe(true);
  });

  it("after an eviction, a client reconnecting with Last-Event-ID misses nothing", async () => {
    const db = newDb();
    const token = await tokenFor("u1");
    const first = await publishReserved(db, "user:u1", { type: "before" });
    await abortAllDurableObjects();
    const after = await publishReserved(db, "user:u1", { type: "after" });
    const stream = (await openSse(db, token, [], first)) as SseReader;
    expect((await stream.next()).id).toBe(after);
    await stream.close();
  });
});

async function fetchSse(path: string, token: string): Promise<SseReader> {
  const { SELF } = await import("cloudflare:test");
  const res = await SELF.fetch(`http://switchboard.test${path}`, {
    headers: { Accept: "text/event-stream", Authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(200);
  return new SseReader(res);
}
