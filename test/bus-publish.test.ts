import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseMessageId } from "../src/bus/message-id";
import { publishToBus } from "../src/bus/publish";
import { busStub } from "../src/rooms/bus-channel";

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
