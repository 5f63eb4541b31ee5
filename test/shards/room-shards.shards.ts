import {
  abortAllDurableObjects,
  env,
  runDurableObjectAlarm,
  runInDurableObject,
  SELF,
} from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN, call, tokenFor } from "../helpers/http";
import { connect, type TestSocket } from "../helpers/ws";

/** ROOM_SHARD_SOCKETS is 3 in this suite: sockets 1–3 stay in the room, 4–6 go to shard 1, ... */
const SHARD = 3;

async function openMany(path: string, n: number, token: string): Promise<TestSocket[]> {
  const sockets: TestSocket[] = [];
  for (let i = 0; i < n; i++) {
    const ws = await connect(path, token);
    await ws.event("welcome");
    sockets.push(ws);
  }
  return sockets;
}

const seqs = (ws: TestSocket, event: string) =>
  ws.frames.filter((f) => f?.event === event).map((f) => f.seq);

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("sharded rooms", () => {
  it("every socket on the room and on its shards gets every event once, in seq order", async () => {
    const id = crypto.randomUUID();
    const path = `/ws/test/${id}`;
    const token = await tokenFor("fan");
    const sockets = await openMany(path, SHARD * 3 + 1, token);
    const writer = sockets[0]!;
    for (let i = 0; i < 20; i++) writer.send({ event: "increment", data: { by: 1 } });
    for (const ws of sockets) {
      await until("20 counted events", () => seqs(ws, "counted").length >= 20);
    }
    await new Promise((r) => setTimeout(r, 200));
    for (const ws of sockets) {
      const got = seqs(ws, "counted");
      expect(got).toHaveLength(20);
      expect(got).toEqual([...got].sort((a, b) => a - b));
      expect(new Set(got).size).toBe(20);
    }
    // The room reports its sockets and shards (contract §9): the alarm writes the count.
    await until("the shards' reports", async () => {
      await runDurableObjectAlarm(env.TEST_ROOM.get(env.TEST_ROOM.idFromName(id)));
      const rooms = await call("GET", "/api/rooms?kind=test&limit=200", { token: ADMIN });
      const row = rooms.body.results.find((r: any) => r.id === id);
      return row?.sockets === SHARD * 3 + 1 && row?.shards === 4;
    });
    for (const ws of sockets) ws.close();
  });

  it("commands from a shard socket run in the room and reply to that socket", async () => {
    const path = `/ws/test/${crypto.randomUUID()}`;
    const token = await tokenFor("cmd", ["test.shout"]);
    const sockets = await openMany(path, SHARD + 2, token);
    const onShard = sockets.at(-1)!;
    const reply = await onShard.request("increment", { by: 5 });
    expect(reply).toMatchObject({ status: 200, data: { count: 5 } });
    for (const ws of sockets) expect((await ws.event("counted")).data).toEqual({ count: 5 });
    // A command that only reads runs in the room too: the shard has no state of its own.
    expect((await onShard.request("status", {})).data).toEqual({ count: 5 });
    // Checked on the shard: unknown, invalid, forbidden frames never reach the room.
    expect((await onShard.request("nope", {})).status).toBe(400);
    expect((await onShard.request("increment", { by: 0 })).status).toBe(400);
    const viewer = await connect(path, await tokenFor("viewer"));
    expect((await viewer.request("shout", { text: "x" })).status).toBe(403);
    // A handler's own sends and saved state go back to the shard's socket.
    const noted = await onShard.request("note", { text: "a", ms: 0 });
    expect(noted).toMatchObject({ status: 200, data: { notes: ["a"] } });
    expect((await onShard.event("noting")).data).toEqual({ text: "a" });
    expect((await onShard.request("note", { text: "b", ms: 0 })).data).toEqual({
      notes: ["a", "b"],
    });
    // A broadcast leaves out its sender, on a shard too.
    await onShard.request("shout", { text: "hi" });
    await sockets[0]!.event("shouted");
    await sockets.at(-2)!.event("shouted");
    await onShard.nothing((f) => f?.event === "shouted");
    for (const ws of [...sockets, viewer]) ws.close();
  });

  it("?since= resumes on whichever shard a reconnect lands", async () => {
    const path = `/ws/test/${crypto.randomUUID()}`;
    const token = await tokenFor("resume");
    const sockets = await openMany(path, SHARD * 2, token);
    for (let i = 0; i < 5; i++) await sockets[0]!.request("increment", { by: 1 });
    // Lands on a shard (the room and shard 1 are full).
    const late = await connect(`${path}?since=2`, token);
    const replay = [
      await late.event("counted"),
      await late.event("counted"),
      await late.event("counted"),
    ];
    expect(replay.map((f) => f.seq)).toEqual([3, 4, 5]);
    await sockets[0]!.request("increment", { by: 1 });
    expect((await late.event("counted")).seq).toBe(6);
    await late.nothing((f) => f?.event === "counted");
    for (const ws of [...sockets, late]) ws.close();
  });

  it("an eviction of every object mid-burst loses nothing after resume", async () => {
    const id = crypto.randomUUID();
    const path = `/ws/test/${id}`;
    const token = await tokenFor("evict");
    const sockets = await openMany(path, SHARD * 2 + 1, token);
    for (let i = 0; i < 10; i++) await sockets[0]!.request("increment", { by: 1 });
    for (const ws of sockets) await until("10 events", () => seqs(ws, "counted").length >= 10);
    for (let i = 0; i < 30; i++) sockets[0]!.send({ event: "increment", data: { by: 1 } });
    await new Promise((r) => setTimeout(r, 5));
    await abortAllDurableObjects();
    for (const ws of sockets) await ws.waitClosed();
    const total = async () => {
      const probe = await connect(path, token);
      const status = await probe.request("status", {});
      probe.close();
      return status.data.count as number;
    };
    const count = await total();
    expect(count).toBeGreaterThanOrEqual(10);
    // Each client resumes from the last seq it saw, wherever it lands.
    const resumed: TestSocket[] = [];
    for (const ws of sockets) {
      const last = Math.max(...seqs(ws, "counted"));
      const again = await connect(`${path}?since=${last}`, token);
      resumed.push(again);
      await until("the missed events", () => last + seqs(again, "counted").length >= count);
      const all = [...seqs(ws, "counted"), ...seqs(again, "counted")];
      expect(all).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    }
    for (const ws of resumed) ws.close();
  });

  it("a shard aborted mid-burst loses nothing: its clients resume, the room keeps feeding", async () => {
    const id = crypto.randomUUID();
    const path = `/ws/test/${id}`;
    const token = await tokenFor("abort");
    const sockets = await openMany(path, SHARD * 2, token);
    const onShard = sockets.slice(SHARD);
    for (let i = 0; i < 40; i++) sockets[0]!.send({ event: "increment", data: { by: 1 } });
    await until("the burst under way", () => seqs(onShard[0]!, "counted").length >= 3);
    const shard = env.TEST_ROOM.get(env.TEST_ROOM.idFromName(`${id}#shard-1`));
    // abort() resets the object; the call that asked for it fails with the reason.
    await expect(
      runInDurableObject(shard, (_room, state) => state.abort("test: shard evicted")),
    ).rejects.toThrow("shard evicted");
    for (const ws of onShard) await ws.waitClosed();
    for (const ws of sockets.slice(0, SHARD))
      await until("40 events", () => seqs(ws, "counted").length >= 40);
    for (const ws of onShard) {
      const last = Math.max(...seqs(ws, "counted"));
      const again = await connect(`${path}?since=${last}`, token);
      await until("the rest", () => last + seqs(again, "counted").length >= 40);
      expect([...seqs(ws, "counted"), ...seqs(again, "counted")]).toEqual(
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
      // Live after the replay, whichever shard it landed on.
      await sockets[0]!.request("increment", { by: 1 });
      await again.next((f) => f?.event === "counted" && f.seq >= 41, "a live event");
      again.close();
    }
    for (const ws of sockets) ws.close();
  });

  it("a shard that sees a gap in the feed asks the room for the missing events", async () => {
    const id = crypto.randomUUID();
    const path = `/ws/test/${id}`;
    const token = await tokenFor("gap");
    const sockets = await openMany(path, SHARD + 1, token);
    const onShard = sockets.at(-1)!;
    await sockets[0]!.request("increment", { by: 1 });
    await onShard.event("counted");
    // An event stored without being fed (as if its batch was lost), then a fed one after it.
    const room = env.TEST_ROOM.get(env.TEST_ROOM.idFromName(id));
    await runInDurableObject(room, (instance) => {
      (instance as unknown as { stream: { append(e: string, d: unknown): void } }).stream.append(
        "counted",
        { count: 1, lost: true },
      );
    });
    await sockets[0]!.request("increment", { by: 1 });
    const missed = await onShard.event("counted");
    expect(missed).toMatchObject({ seq: 2, data: { lost: true } });
    expect((await onShard.event("counted")).seq).toBe(3);
    for (const ws of sockets) ws.close();
  });

  it("a client cannot name a shard: the Worker drops its shard header", async () => {
    const id = crypto.randomUUID();
    const token = await tokenFor("spoof");
    const url = new URL(`http://switchboard.test/ws/test/${id}`);
    url.searchParams.set("token", token);
    const res = await SELF.fetch(url, {
      headers: { Upgrade: "websocket", "X-Switchboard-Shard": "7" },
    });
    expect(res.status).toBe(101);
    res.webSocket!.accept();
    const room = env.TEST_ROOM.get(env.TEST_ROOM.idFromName(id));
    const shard = await runInDurableObject(room, (_r, state) =>
      state.storage.sql.exec("SELECT value FROM room_meta WHERE key = 'shard_index'").toArray(),
    );
    expect(shard).toEqual([]);
    res.webSocket!.close();
  });

  it("the room keeps who is on its shards from their reports, and forgets an evicted shard's", async () => {
    const id = crypto.randomUUID();
    const path = `/ws/test/${id}`;
    const token = await tokenFor("roster");
    await openMany(path, SHARD, token);
    const ann = await connect(path, await tokenFor("ann"));
    const ben = await connect(path, await tokenFor("ben"));
    await ann.event("welcome");
    await ben.event("welcome");
    const room = env.TEST_ROOM.get(env.TEST_ROOM.idFromName(id));
    const roster = () =>
      runInDurableObject(room, (instance) =>
        (instance as unknown as { shardMembers(): { userId: string }[] })
          .shardMembers()
          .map((m) => m.userId)
          .sort(),
      );
    await until("both on the roster", async () => (await roster()).join() === "ann,ben");
    ben.close();
    await until("ben's leave", async () => (await roster()).join() === "ann");
    const shard = env.TEST_ROOM.get(env.TEST_ROOM.idFromName(`${id}#shard-1`));
    await expect(
      runInDurableObject(shard, (_room, state) => state.abort("test: shard evicted")),
    ).rejects.toThrow();
    await ann.waitClosed();
    // The next socket lands on a fresh shard 1, whose first report lists only what it holds.
    const writer = await connect(path, token);
    await writer.request("increment", { by: 1 });
    await until(
      "the evicted shard's members forgotten",
      async () => (await roster()).join() === "roster",
    );
    writer.close();
  });
});
