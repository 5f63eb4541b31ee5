import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { busShardStub, busStub } from "../../src/features/bus/bus-channel";
import { newDb, openSse, publish, type SseReader } from "../helpers/bus";
import { ADMIN, call, tokenFor } from "../helpers/http";
import { connect, type TestSocket } from "../helpers/ws";

/** ROOM_SHARD_SOCKETS is 3 here: a namespace holds 3 listeners, then its shards take the rest. */
const SHARD = 3;

/** The message numbers a socket got, arrays unpacked, and how many text frames carried them. */
function received(ws: TestSocket): { n: number[]; texts: number } {
  const n: number[] = [];
  let texts = 0;
  for (const frame of ws.frames) {
    const list = typeof frame === "string" && frame.startsWith("[") ? JSON.parse(frame) : [frame];
    if (!list.some((f: any) => f?.event === "message")) continue;
    texts += 1;
    for (const f of list) if (f?.event === "message") n.push(f.data.message.n);
  }
  return { n, texts };
}

async function until(what: string, check: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("batch publish and ?batch=1 across shards", () => {
  it("a batch reaches ?batch=1 sockets on the namespace and its shard as arrays, others as frames", async () => {
    const db = newDb();
    const token = await tokenFor("batch-fan", ["bus.listen:orders.*"]);
    const path = `/ws/bus/${db}?channels=orders.a`;
    const sockets: TestSocket[] = [];
    for (let i = 0; i < SHARD * 2; i++) sockets.push(await connect(`${path}&batch=1`, token));
    const plain = await connect(path, token);
    expect((await busStub(env, db).listeners()).sockets).toBe(SHARD);
    expect((await busShardStub(env, db, 1).listeners()).sockets).toBe(SHARD);
    const sse = (await openSse(db, token, ["orders.a"])) as SseReader;
    const messages = [1, 2, 3, 4, 5].map((n) => ({
      channel: "orders.a",
      message: { type: "t", n },
    }));
    const res = await call("POST", `/api/bus/${db}/publish`, { token: ADMIN, body: { messages } });
    expect(res.status).toBe(201);
    for (const ws of [...sockets, plain])
      await until("5 messages", () => received(ws).n.length >= 5);
    await new Promise((r) => setTimeout(r, 200));
    for (const ws of sockets.slice(0, SHARD))
      expect(received(ws)).toEqual({ n: [1, 2, 3, 4, 5], texts: 1 });
    for (const ws of sockets.slice(SHARD)) {
      // The shard takes the namespace's feed; one feed batch is one pass.
      expect(received(ws).n).toEqual([1, 2, 3, 4, 5]);
      expect(received(ws).texts).toBeLessThan(5);
    }
    expect(received(plain)).toEqual({ n: [1, 2, 3, 4, 5], texts: 5 });
    for (let n = 1; n <= 5; n++) expect((await sse.next()).data.message.n).toBe(n);
    await sse.close();
    for (const ws of [...sockets, plain]) ws.close();
  });

  it("a ?batch=1 socket that lands on a shard gets its catch-up as one array", async () => {
    const db = newDb();
    const token = await tokenFor("batch-resume", ["bus.listen:orders.*"]);
    const first = await publish(db, "orders.a", { type: "t", n: 1 });
    for (let n = 2; n <= 4; n++) await publish(db, "orders.a", { type: "t", n });
    const fillers: TestSocket[] = [];
    for (let i = 0; i < SHARD; i++) {
      fillers.push(await connect(`/ws/bus/${db}?channels=orders.a`, token));
    }
    const late = await connect(
      `/ws/bus/${db}?channels=orders.a&batch=1&last_message=${first}`,
      token,
    );
    expect((await busShardStub(env, db, 1).listeners()).sockets).toBe(1);
    await until("2 to 4", () => received(late).n.length >= 3);
    expect(received(late)).toEqual({ n: [2, 3, 4], texts: 1 });
    await publish(db, "orders.a", { type: "t", n: 5 });
    await until("5", () => received(late).n.length >= 4);
    expect(received(late)).toEqual({ n: [2, 3, 4, 5], texts: 2 });
    for (const ws of [...fillers, late]) ws.close();
  });
});
