import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { busStub } from "../../../src/features/bus/bus-channel";
import { newDb, poll, publish, seqOf } from "../../helpers/bus";
import { ADMIN, call, expectErrorShape, tokenFor } from "../../helpers/http";
import { connect } from "../../helpers/ws";

const wsPath = (db: string, channels: string[], batch = false) =>
  `/ws/bus/${db}?channels=${encodeURIComponent(channels.join(","))}${batch ? "&batch=1" : ""}`;

const item = (channel: string, n: number) => ({ channel, message: { type: "t", n } });

function publishMany(db: string, messages: unknown[], headers: Record<string, string> = {}) {
  return call("POST", `/api/bus/${db}/publish`, { token: ADMIN, body: { messages }, headers });
}

/** The bus frames of a socket so far, arrays unpacked, and how many text frames carried them. */
function messagesOf(frames: unknown[]): { ids: string[]; texts: number } {
  const ids: string[] = [];
  let texts = 0;
  for (const frame of frames) {
    const list = typeof frame === "string" ? JSON.parse(frame) : [frame];
    texts += 1;
    for (const f of list) if (f?.event === "message") ids.push(f.data.message.message_id);
  }
  return { ids, texts };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("POST /api/bus/:db/publish with messages (batch publish)", () => {
  it("stores every message in order, one seq each, and answers their ids in order", async () => {
    const db = newDb();
    const res = await publishMany(db, [item("a", 1), item("b", 2), item("a", 3)]);
    expect(res.status).toBe(201);
    const ids: string[] = res.body.message_ids;
    expect(ids.map(seqOf)).toEqual([1, 2, 3]);
    const token = await tokenFor("u1", ["bus.listen:*"]);
    const first = await poll(db, token, { last_message: null, channels: ["a", "b"] }, 1);
    expect(first.body).toEqual({ channel: null, message: null });
    const next = await poll(db, token, { last_message: ids[0], channels: ["a", "b"] });
    expect(next.body).toMatchObject({ channel: "b", message: { message_id: ids[1], n: 2 } });
    // The single form is unchanged and continues the same sequence.
    expect(seqOf(await publish(db, "a"))).toBe(4);
  });

  it("delivers each message once, in order, to sockets with and without ?batch=1", async () => {
    const db = newDb();
    const token = await tokenFor("u1", ["bus.listen:*"]);
    const plain = await connect(wsPath(db, ["a", "b"]), token);
    const batched = await connect(wsPath(db, ["a", "b"], true), token);
    const res = await publishMany(db, [item("a", 1), item("b", 2), item("a", 3), item("c", 4)]);
    const ids: string[] = res.body.message_ids.slice(0, 3);
    await until(() => messagesOf(plain.frames).ids.length >= 3, "the plain socket's frames");
    await until(() => messagesOf(batched.frames).ids.length >= 3, "the batched socket's frames");
    await new Promise((r) => setTimeout(r, 200));
    expect(messagesOf(plain.frames)).toEqual({ ids, texts: 3 });
    // One array for the whole batch: the c message is not for these sockets.
    expect(messagesOf(batched.frames)).toEqual({ ids, texts: 1 });
    plain.close();
    batched.close();
  });

  it("a group commit of concurrent publishes reaches a ?batch=1 socket in order, each once", async () => {
    const db = newDb();
    const token = await tokenFor("u1", ["bus.listen:*"]);
    const batched = await connect(wsPath(db, ["a"], true), token);
    const stub = busStub(env, db);
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, n) => stub.publishMessage(db, "a", { type: "t", n })),
    );
    const ids = answers.map((a) => a.message_id).sort((x, y) => seqOf(x) - seqOf(y));
    await until(() => messagesOf(batched.frames).ids.length >= 30, "30 messages");
    await new Promise((r) => setTimeout(r, 200));
    const got = messagesOf(batched.frames);
    expect(got.ids).toEqual(ids);
    // Publishes that waited behind a commit went out together: fewer frames than messages.
    expect(got.texts).toBeLessThan(30);
    batched.close();
  });

  it("refuses a batch with one bad item naming it, and stores nothing", async () => {
    const db = newDb();
    const bad = await publishMany(db, [item("a", 1), { channel: "a", message: { type: "" } }]);
    expect(bad.status).toBe(400);
    expectErrorShape(bad.body);
    expect(Object.keys(bad.body.error.details)).toEqual(["messages.1.message.type"]);
    const badChannel = await publishMany(db, [{ channel: "a,b", message: { type: "t" } }]);
    expect(Object.keys(badChannel.body.error.details)).toEqual(["messages.0.channel"]);
    const big = await publishMany(db, [
      item("a", 1),
      { channel: "a", message: { type: "t", blob: "x".repeat(70_000) } },
    ]);
    expect(big.status).toBe(413);
    expect(Object.keys(big.body.error.details)).toEqual(["messages.1.message"]);
    // Nothing was stored: the next message is the first of the namespace.
    expect(seqOf(await publish(db, "a"))).toBe(1);
  });

  it("answers 403 for a user: or client: channel anywhere in the batch, and stores nothing", async () => {
    const db = newDb();
    const publisher = await tokenFor("pub-1", ["bus.publish"]);
    for (const channel of ["user:u1", "client:c-1"]) {
      const res = await call("POST", `/api/bus/${db}/publish`, {
        token: publisher,
        body: { messages: [item("orders", 1), item(channel, 2)] },
      });
      expect(res.status).toBe(403);
      expect(res.body.error.details).toEqual({ "messages.1.channel": [channel] });
    }
    const outsider = await tokenFor("u2", []);
    const denied = await call("POST", `/api/bus/${db}/publish`, {
      token: outsider,
      body: { messages: [item("orders", 1)] },
    });
    expect(denied.status).toBe(403);
    expect(seqOf(await publish(db, "orders"))).toBe(1);
  });

  it("takes 1 to 100 messages: 0 and 101 are refused with nothing stored", async () => {
    const db = newDb();
    const empty = await publishMany(db, []);
    expect(empty.status).toBe(400);
    expect(Object.keys(empty.body.error.details)).toEqual(["messages"]);
    const many = Array.from({ length: 101 }, (_, i) => item("a", i));
    const over = await publishMany(db, many);
    expect(over.status).toBe(400);
    expect(Object.keys(over.body.error.details)).toEqual(["messages"]);
    const full = await publishMany(db, many.slice(0, 100));
    expect(full.status).toBe(201);
    expect(full.body.message_ids.map(seqOf)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it("refuses a body of both forms (channel and messages) with 400, storing nothing", async () => {
    const db = newDb();
    const both = await call("POST", `/api/bus/${db}/publish`, {
      token: ADMIN,
      body: { ...item("a", 0), messages: [item("a", 1)] },
    });
    expect(both.status).toBe(400);
    expectErrorShape(both.body);
    // Nothing was stored: the next message is the namespace's first.
    expect(seqOf(await publish(db, "a", { type: "t" }))).toBe(1);
  });

  it("answers a retry with the same Idempotency-Key with the same ids, storing nothing", async () => {
    const db = newDb();
    const token = await tokenFor("u1", ["bus.listen:*"]);
    const ws = await connect(wsPath(db, ["a"], true), token);
    const key = { "Idempotency-Key": `k-${crypto.randomUUID()}` };
    const first = await publishMany(db, [item("a", 1), item("a", 2)], key);
    const again = await publishMany(db, [item("a", 1), item("a", 2)], key);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    await until(() => messagesOf(ws.frames).ids.length >= 2, "the batch's frames");
    await new Promise((r) => setTimeout(r, 200));
    expect(messagesOf(ws.frames).ids).toEqual(first.body.message_ids);
    expect(seqOf(await publish(db, "a"))).toBe(3);
    ws.close();
  });
});
