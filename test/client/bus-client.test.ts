import { env, SELF } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { BusClient, type BusDelivery, BusError, type BusMessage } from "../../src/client/bus";
import { busStub } from "../../src/features/bus/bus-channel";
import { newDb, publish, publishReserved, sleep } from "../helpers/bus";
import { BASE, tokenFor } from "../helpers/http";

const viaWorker = (input: string, init: RequestInit) => SELF.fetch(input, init);

function collector() {
  const got: { message: BusMessage; info: BusDelivery }[] = [];
  return {
    got,
    handler: (message: BusMessage, info: BusDelivery) => void got.push({ message, info }),
  };
}

describe("SDK bus.poll(channels, onMessage)", () => {
  it("delivers every message of its channels in order, keeping last_message", async () => {
    const db = newDb();
    const token = await tokenFor("u1", ["bus.listen:orders.*"]);
    const bus = new BusClient({
      baseUrl: BASE,
      db,
      token: () => token,
      fetch: viaWorker,
      timeoutSeconds: 2,
    });
    const start = await publish(db, "orders.a", { type: "start" });
    const { got, handler } = collector();
    const sub = bus.poll(["orders.a", "orders.b"], handler, { lastMessage: start });
    const ids = [
      await publish(db, "orders.b", { type: "m" }),
      await publish(db, "orders.a", { type: "m" }),
      await publishReserved(db, "user:u1", { type: "m" }),
      await publish(db, "orders.c", { type: "not listened" }),
    ];
    await vi.waitFor(() => expect(got).toHaveLength(3), { timeout: 5000 });
    expect(got.map((g) => g.message.message_id)).toEqual(ids.slice(0, 3));
    expect(got.map((g) => g.info.channel)).toEqual(["orders.b", "orders.a", "user:u1"]);
    expect(sub.lastMessage).toBe(ids[2]);
    await sub.stop();
  });

  it("stops cleanly: the parked poll is released on the server", async () => {
    const db = newDb();
    const token = await tokenFor("u1");
    const bus = new BusClient({
      baseUrl: BASE,
      db,
      token: () => token,
      fetch: viaWorker,
      timeoutSeconds: 30,
    });
    const sub = bus.poll([], () => undefined);
    const stub = busStub(env, db);
    await vi.waitFor(async () => expect((await stub.listeners()).polls).toBe(1));
    const started = Date.now();
    await sub.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    await vi.waitFor(async () => expect((await stub.listeners()).polls).toBe(0));
    await expect(sub.done).resolves.toBeUndefined();
  });

  it("backs off on errors and keeps its place", async () => {
    const db = newDb();
    const token = await tokenFor("u1");
    let failing = 2;
    const flaky = (input: string, init: RequestInit) => {
      if (failing-- > 0) return Promise.reject(new Error("network down"));
      return SELF.fetch(input, init);
    };
    const errors: unknown[] = [];
    const bus = new BusClient({
      baseUrl: BASE,
      db,
      token: () => token,
      fetch: flaky,
      timeoutSeconds: 2,
      backoffBaseMs: 20,
      onError: (e) => errors.push(e),
    });
    const first = await publishReserved(db, "user:u1", { type: "a" });
    const second = await publishReserved(db, "user:u1", { type: "b" });
    const { got, handler } = collector();
    const sub = bus.poll([], handler, { lastMessage: first });
    await vi.waitFor(() => expect(got).toHaveLength(1), { timeout: 5000 });
    expect(errors).toHaveLength(2);
    expect(got[0]?.message.message_id).toBe(second);
    await sleep(50);
    await sub.stop();
  });

  it("waits at least what Retry-After asks on a 429 before polling again", async () => {
    const db = newDb();
    const token = await tokenFor("u1");
    const calls: number[] = [];
    const limitedOnce = (input: string, init: RequestInit) => {
      calls.push(Date.now());
      if (calls.length > 1) return SELF.fetch(input, init);
      const body = { error: { code: "rate_limited", message: "Too many requests; slow down" } };
      return Promise.resolve(Response.json(body, { status: 429, headers: { "Retry-After": "1" } }));
    };
    const errors: unknown[] = [];
    const bus = new BusClient({
      baseUrl: BASE,
      db,
      token: () => token,
      fetch: limitedOnce,
      timeoutSeconds: 2,
      backoffBaseMs: 20,
      onError: (e) => errors.push(e),
    });
    const first = await publishReserved(db, "user:u1", { type: "a" });
    const second = await publishReserved(db, "user:u1", { type: "b" });
    const { got, handler } = collector();
    const sub = bus.poll([], handler, { lastMessage: first });
    await vi.waitFor(() => expect(got).toHaveLength(1), { timeout: 5000 });
    expect(errors[0]).toMatchObject({ status: 429, retryAfterMs: 1000 });
    expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(1000);
    expect(got[0]?.message.message_id).toBe(second);
    await sub.stop();
  });

  it("ends with the error on a refusal that retrying cannot fix (403)", async () => {
    const db = newDb();
    const token = await tokenFor("u1");
    const bus = new BusClient({ baseUrl: BASE, db, token: () => token, fetch: viaWorker });
    const sub = bus.poll(["payroll"], () => undefined);
    await expect(sub.done).rejects.toBeInstanceOf(BusError);
    await expect(sub.done).rejects.toMatchObject({ status: 403 });
  });

  it("passes gap: true when its last_message is unknown", async () => {
    const db = newDb();
    const token = await tokenFor("u1");
    const id = await publishReserved(db, "user:u1", { type: "a" });
    const bus = new BusClient({
      baseUrl: BASE,
      db,
      token: () => token,
      fetch: viaWorker,
      timeoutSeconds: 2,
    });
    const { got, handler } = collector();
    const sub = bus.poll([], handler, { lastMessage: "expired" });
    await vi.waitFor(() => expect(got).toHaveLength(1), { timeout: 5000 });
    expect(got[0]).toEqual({
      message: { message_id: id, type: "a" },
      info: { channel: "user:u1", gap: true },
    });
    await sub.stop();
  });
});
