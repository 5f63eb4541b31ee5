import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { busStub } from "../../../src/features/bus/bus-channel";
import { parseMessageId } from "../../../src/features/bus/message-id";
import { publishToBus } from "../../../src/features/bus/publish";
import { poll } from "../../helpers/bus";
import { ADMIN, call, expectErrorShape, tokenFor } from "../../helpers/http";

const db = () => `db-${crypto.randomUUID()}`;

describe("publishToBus", () => {
  it("stores the message and answers its id, one sequence per namespace", async () => {
    const ns = db();
    const a = await publishToBus(env, ns, "orders", { type: "created", n: 1 });
    const b = await publishToBus(env, ns, "user:u1", { type: "nudge" });
    const first = parseMessageId(a.message_id);
    const second = parseMessageId(b.message_id);
    expect(first?.seq).toBe(1);
    expect(second).toEqual({ tag: first?.tag, seq: 2 });
  });

  it("stores a retried publish (same key) once", async () => {
    const ns = db();
    const stub = busStub(env, ns);
    const once = await stub.publishMessage(ns, "c", { type: "t" }, "key-1");
    const again = await stub.publishMessage(ns, "c", { type: "t" }, "key-1");
    expect(again.message_id).toBe(once.message_id);
    const next = await stub.publishMessage(ns, "c", { type: "t" }, "key-2");
    expect(parseMessageId(next.message_id)?.seq).toBe(2);
  });

  it("stores concurrent publishes together, in call order, one seq each", async () => {
    const ns = db();
    const stub = busStub(env, ns);
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) => stub.publishMessage(ns, `c${i % 3}`, { type: "t", i })),
    );
    const seqs = ids.map((r) => parseMessageId(r.message_id)?.seq);
    expect(new Set(seqs).size).toBe(20);
    expect([...seqs].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
  });

  it("refuses a bad namespace, channel or message", async () => {
    await expect(publishToBus(env, "bad db!", "c", { type: "t" })).rejects.toThrow();
    await expect(publishToBus(env, db(), "a,b", { type: "t" })).rejects.toThrow();
    await expect(publishToBus(env, db(), "c", { type: "" })).rejects.toThrow();
  });
});

describe("POST /api/bus/:db/publish: user: and client: channels are notify's alone", () => {
  it("answers 403 for them, to the admin and to bus.publish alike, and stores nothing", async () => {
    const ns = db();
    const publisher = await tokenFor("pub-1", ["bus.publish"]);
    for (const token of [ADMIN, publisher]) {
      for (const channel of ["user:u1", "client:c-1"]) {
        const res = await call("POST", `/api/bus/${ns}/publish`, {
          token,
          body: { channel, message: { type: "notification", title: "fake" } },
        });
        expect(res.status, `${channel} as ${token === ADMIN ? "admin" : "client"}`).toBe(403);
        expectErrorShape(res.body);
        expect(res.body.error.details).toEqual({ channel: [channel] });
      }
    }
    const kept = await poll(ns, ADMIN, { last_message: "x", channels: ["user:u1", "client:c-1"] });
    expect(kept.body).toEqual({ channel: null, message: null });
    const notified = await call("POST", `/api/bus/${ns}/notify`, {
      token: ADMIN,
      body: { title: "real", user: "u1" },
    });
    expect(notified.status).toBe(201);
    const other = await call("POST", `/api/bus/${ns}/publish`, {
      token: publisher,
      body: { channel: "users:u1", message: { type: "t" } },
    });
    expect(other.status).toBe(201);
  });
});
