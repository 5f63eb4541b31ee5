import {
  abortAllDurableObjects,
  env,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { tokenFor } from "../helpers/http";
import type { TestRoom } from "../helpers/test-room";
import { connect, tryConnect } from "../helpers/ws";

const room = () => `/ws/test/${crypto.randomUUID()}`;

/** The base room's protected member accessors, reached from inside the object in tests. */
interface MemberAccess {
  memberOf(ws: WebSocket): object;
  saveMember(ws: WebSocket, member: object): void;
}

/** The room's stub, untyped: the typed one makes runInDurableObject's inference too deep. */
function stubOf(path: string): DurableObjectStub {
  return env.TEST_ROOM.get(env.TEST_ROOM.idFromName(path.split("/").pop()!));
}

describe("base room: connecting", () => {
  it("refuses a missing token with 401 before the upgrade", async () => {
    const res = await tryConnect(room());
    expect(res).toBeInstanceOf(Response);
    const r = res as Response;
    expect(r.status).toBe(401);
    expect((await r.json<any>()).error.code).toBe("unauthorized");
  });

  it("refuses invalid and expired tokens with 401", async () => {
    const bad = (await tryConnect(room(), "not-a-token")) as Response;
    expect(bad.status).toBe(401);
    const expired = await tokenFor("u-exp", [], { ttl_seconds: 1 });
    await new Promise((r) => setTimeout(r, 2100));
    const late = (await tryConnect(room(), expired)) as Response;
    expect(late.status).toBe(401);
  });

  it("answers 404 for a room that does not exist and 403 for a forbidden one", async () => {
    const token = await tokenFor("u1");
    expect(
      ((await tryConnect(`/ws/test/missing-${crypto.randomUUID()}`, token)) as Response).status,
    ).toBe(404);
    expect(((await tryConnect(`/ws/nokind/x`, token)) as Response).status).toBe(404);
    expect(
      ((await tryConnect(`/ws/test/private-${crypto.randomUUID()}`, token)) as Response).status,
    ).toBe(403);
    const allowed = await tokenFor("u2", ["test.enter"]);
    const ws = await connect(`/ws/test/private-${crypto.randomUUID()}`, allowed);
    await ws.event("welcome");
    ws.close();
  });
});

describe("base room: frames", () => {
  it("echoes request_id in exactly one reply", async () => {
    const ws = await connect(room(), await tokenFor("u1"));
    const reply = await ws.request("echo", { text: "hi" }, 42);
    expect(reply).toEqual({ request_id: 42, status: 200, errors: [], data: { text: "hi" } });
    const reply2 = await ws.request("echo", { text: "yo" }, "abc");
    expect(reply2.request_id).toBe("abc");
    await ws.nothing((f) => f?.request_id === 42);
    ws.close();
  });

  it("accepts the `action` and `message` aliases for `event`", async () => {
    const ws = await connect(room(), await tokenFor("u1"));
    ws.send({ action: "echo", data: { text: "a" }, request_id: 1 });
    expect((await ws.reply(1)).status).toBe(200);
    ws.send({ message: "echo", data: { text: "m" }, request_id: 2 });
    expect((await ws.reply(2)).status).toBe(200);
    ws.close();
  });

  it("answers bad input with errors and keeps the socket open", async () => {
    const ws = await connect(room(), await tokenFor("u1"));
    ws.send("{not json");
    expect((await ws.event("error")).data).toEqual({ status: 400, errors: ["Malformed JSON"] });

    const unknown = await ws.request("nope", {});
    expect(unknown.status).toBe(400);
    expect(unknown.errors[0]).toContain("nope");

    const forbidden = await ws.request("shout", { text: "x" });
    expect(forbidden.status).toBe(403);

    const invalid = await ws.request("increment", { by: "x" });
    expect(invalid.status).toBe(400);
    expect(invalid.errors.join()).toContain("by");

    const extra = await ws.request("echo", { text: "x", extra: 1 });
    expect(extra.status).toBe(400);

    const thrown = await ws.request("conflict", {});
    expect(thrown.status).toBe(403);

    // A refused frame that carries a request id gets its reply, whatever refused it.
    ws.send({ event: "echo", data: { text: "x".repeat(65 * 1024) }, request_id: "big" });
    expect(await ws.reply("big")).toEqual({
      request_id: "big",
      status: 413,
      errors: ["Frame exceeds 64 KiB"],
    });
    ws.send({ event: "echo", data: { text: "x".repeat(65 * 1024) } });
    expect((await ws.event("error")).data.status).toBe(413);
    ws.ws.send(new TextEncoder().encode('{"event":"status","data":{},"request_id":7}'));
    expect(await ws.reply(7)).toMatchObject({ request_id: 7, status: 400 });
    ws.ws.send(new Uint8Array([1, 2, 3]));
    expect((await ws.event("error")).data.status).toBe(400);

    // still usable, and nothing was stored for the refused frames
    const ok = await ws.request("increment", { by: 1 });
    expect(ok).toMatchObject({ status: 200, data: { count: 1 } });
    ws.close();
  });

  it("limits a flood to 50 frames/s with 429 and recovers", async () => {
    const ws = await connect(room(), await tokenFor("u1"));
    for (let i = 0; i < 200; i++)
      ws.send({ event: "echo", data: { text: String(i) }, request_id: i });
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => ws.reply(i)));
    const limited = replies.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(replies.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(100);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await ws.request("echo", { text: "again" })).status).toBe(200);
    ws.close();
  });

  it("answers the text frame ping with pong", async () => {
    const ws = await connect(room(), await tokenFor("u1"));
    ws.send("ping");
    expect(await ws.next((f) => f === "pong", "pong")).toBe("pong");
    ws.close();
  });

  it("refuses a permission-guarded event without the permission and allows it with it", async () => {
    const id = room();
    const a = await connect(id, await tokenFor("a", ["test.shout"]));
    const b = await connect(id, await tokenFor("b"));
    await b.event("welcome");
    expect((await a.request("shout", { text: "hey" })).status).toBe(200);
    expect((await b.event("shouted")).data).toEqual({ text: "hey" });
    await a.nothing((f) => f?.event === "shouted");
    a.close();
    b.close();
  });
});

describe("base room: one change at a time", () => {
  it("answers a concurrent command while the room's queue is busy", async () => {
    const ws = await connect(room(), await tokenFor("u1"));
    ws.send({ event: "pause", data: { ms: 500 }, request_id: "pause" });
    ws.send({ event: "status", data: {}, request_id: "status" });
    expect((await ws.reply("status")).status).toBe(200);
    expect(ws.frames.some((f) => f?.request_id === "pause")).toBe(false);
    expect((await ws.reply("pause")).status).toBe(200);
    ws.close();
  });

  it("gives a queued frame the socket's state as the frames before it left it", async () => {
    const ws = await connect(room(), await tokenFor("u1"));
    ws.send({ event: "note", data: { text: "first", ms: 500 }, request_id: "n1" });
    // The second frame arrives while the first is being handled, and queues behind it.
    await ws.event("noting");
    ws.send({ event: "note", data: { text: "second", ms: 0 }, request_id: "n2" });
    expect((await ws.reply("n1")).data).toEqual({ notes: ["first"] });
    expect((await ws.reply("n2")).data).toEqual({ notes: ["first", "second"] });
    ws.close();
  });

  it("handles frames of a batch command that queue up as one batch, each with its own reply", async () => {
    const ws = await connect(room(), await tokenFor("u1"));
    await ws.event("welcome");
    // The tallies are sent only once the blocking change is running, so they queue up behind it
    // however late a loaded machine starts it.
    ws.send({ event: "note", data: { text: "hold", ms: 2000 }, request_id: "p" });
    await ws.event("noting");
    for (const [i, by] of [1, 2, -1, 3].entries()) {
      ws.send({ event: "tally", data: { by }, request_id: `t${i}` });
    }
    expect((await ws.reply("p")).status).toBe(200);
    const replies = await Promise.all([0, 1, 2, 3].map((i) => ws.reply(`t${i}`)));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 400, 200]);
    expect(replies[2].errors).toEqual(["by: must be >= 0"]);
    expect(replies[0].data).toEqual({ count: 6 });
    const tallied = await ws.event("tallied");
    expect(tallied.data).toEqual({ count: 6, frames: 4 });
    await ws.nothing((f) => f?.event === "tallied");
    ws.close();
  });
});

describe("base room: tagged sockets", () => {
  it("reaches the sockets accepted with a tag, and only those", async () => {
    const id = room();
    const a = await connect(id, await tokenFor("ann"));
    const b1 = await connect(id, await tokenFor("bob"));
    const b2 = await connect(id, await tokenFor("bob"));
    expect((await a.request("whisper", { to: "bob", text: "psst" })).status).toBe(200);
    expect((await b1.event("whispered")).data).toEqual({ text: "psst" });
    expect((await b2.event("whispered")).data).toEqual({ text: "psst" });
    await a.nothing((f) => f?.event === "whispered");
    for (const s of [a, b1, b2]) s.close();
  });
});

describe("base room: ordered stream and resume", () => {
  it("numbers stream events by one and replays exactly the missed ones with ?since=", async () => {
    const id = room();
    const token = await tokenFor("u1");
    const ws = await connect(id, token);
    for (let i = 0; i < 3; i++) await ws.request("increment", { by: 1 });
    const seqs = [
      await ws.event("counted"),
      await ws.event("counted"),
      await ws.event("counted"),
    ].map((f) => f.seq);
    expect(seqs).toEqual([1, 2, 3]);
    ws.close();

    const other = await connect(id, token);
    await other.request("increment", { by: 1 });
    await other.request("increment", { by: 1 });
    other.close();

    const resumed = await connect(`${id}?since=3`, token);
    const replayed = [await resumed.event("counted"), await resumed.event("counted")];
    expect(replayed.map((f) => [f.seq, f.data.count])).toEqual([
      [4, 4],
      [5, 5],
    ]);
    await resumed.nothing((f) => f?.event === "counted");
    resumed.close();
  });

  it("sends resync with the full state when the resume is older than what is kept", async () => {
    const id = room();
    const token = await tokenFor("u1");
    const ws = await connect(id, token);
    await ws.request("increment", { by: 2 });
    await ws.request("increment", { by: 3 });
    ws.close();
    const stub = stubOf(id);
    await runInDurableObject(stub, (_i, state) => {
      state.storage.sql.exec("DELETE FROM room_events WHERE seq = 1");
    });
    const resumed = await connect(`${id}?since=0`, token);
    const first = resumed.frames[0] ?? (await resumed.event("resync"));
    expect(first).toEqual({ event: "resync", data: { count: 5 }, seq: 2 });
    resumed.close();
  });

  it("keeps state and seq across an eviction of the Durable Object", async () => {
    const id = room();
    const token = await tokenFor("u1");
    const ws = await connect(id, token);
    await ws.request("increment", { by: 7 });
    await abortAllDurableObjects();
    await ws.waitClosed();
    const again = await connect(`${id}?since=1`, token);
    expect((await again.event("welcome")).data).toEqual({ count: 7 });
    const next = await again.request("increment", { by: 1 });
    expect(next.data).toEqual({ count: 8 });
    expect((await again.event("counted")).seq).toBe(2);
    again.close();
  });
});

describe("base room: an event the stream cannot take", () => {
  it("is refused with 413 before anything is written, and the stream goes on", async () => {
    const id = room();
    const token = await tokenFor("u1");
    const ws = await connect(id, token);
    await ws.request("increment", { by: 1 });
    expect((await ws.event("counted")).seq).toBe(1);
    const refusal = await runInDurableObject(stubOf(id), (instance: unknown, state) => {
      const room = instance as { publish(event: string, data: unknown): unknown };
      try {
        room.publish("counted", { blob: "x".repeat(600_000) });
        return null;
      } catch (err) {
        const { status, code } = err as { status: number; code: string };
        const rows = state.storage.sql.exec("SELECT COUNT(*) AS n FROM room_events").one().n;
        return { status, code, rows };
      }
    });
    expect(refusal).toEqual({ status: 413, code: "payload_too_large", rows: 1 });
    await ws.nothing((f) => f?.event === "counted");
    await ws.request("increment", { by: 1 });
    expect((await ws.event("counted")).seq).toBe(2);
    ws.close();
  });
});

describe("base room: liveness", () => {
  it("drops sockets silent for 60 s in the alarm sweep", async () => {
    const id = room();
    const token = await tokenFor("u1");
    const ws = await connect(id, token);
    await ws.event("welcome");
    const stub = stubOf(id);
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 30_000);
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      await ws.nothing(() => false, 100);
      expect(ws.closed).toBeNull();
      vi.setSystemTime(Date.now() + 31_000);
      expect(await runDurableObjectAlarm(stub)).toBe(true);
    } finally {
      vi.useRealTimers();
    }
    expect((await ws.waitClosed()).code).toBe(4000);
  });

  it("counts an auto-answered ping as activity, so a pinging socket stays", async () => {
    const id = room();
    const ws = await connect(id, await tokenFor("u1"));
    await ws.event("welcome");
    const stub = stubOf(id);
    await runInDurableObject(stub, (instance: unknown, state) => {
      const members = instance as MemberAccess;
      for (const s of state.getWebSockets()) {
        members.saveMember(s, { ...members.memberOf(s), lastSeen: Date.now() - 61_000 });
      }
    });
    ws.send("ping");
    await ws.next((f) => f === "pong", "pong");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await ws.nothing(() => false, 200);
    expect(ws.closed).toBeNull();
    expect((await ws.request("echo", { text: "still here" })).status).toBe(200);
    ws.close();
  });
});

describe("base room: hibernation", () => {
  it("handles a frame delivered straight to webSocketMessage from the attachment alone", async () => {
    const id = room();
    const ws = await connect(id, await tokenFor("u1"));
    await ws.event("welcome");
    const stub = stubOf(id);
    await runInDurableObject(stub, async (instance: unknown, state) => {
      const [server] = state.getWebSockets();
      await (instance as TestRoom).webSocketMessage(
        server!,
        JSON.stringify({ event: "increment", data: { by: 4 }, request_id: "h" }),
      );
    });
    expect((await ws.reply("h")).data).toEqual({ count: 4 });
    expect((await ws.event("counted")).seq).toBe(1);
    ws.close();
  });
});
