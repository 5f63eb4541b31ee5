import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { listenChannels } from "../../../src/features/bus/channels";
import { pollBus } from "../../../src/features/bus/poll";
import type { Caller } from "../../../src/platform/auth/caller";
import { mintClientToken } from "../../../src/platform/auth/tokens";
import { ApiError } from "../../../src/platform/errors";
import { newDb, openSse, poll, publishReserved, SseReader } from "../../helpers/bus";
import { ADMIN, BASE, call, expectErrorShape } from "../../helpers/http";
import { TestSocket, tryConnect } from "../../helpers/ws";

/**
 * Channel lists cross from the Worker to the namespace's object as arrays, never as joined text,
 * and a channel the bus refuses is a 4xx at once on every transport, never a retry loop.
 */

/** A token minted straight from the secret, as before user ids had a charset. */
async function legacyToken(id: string): Promise<string> {
  const minted = await mintClientToken(env.TOKEN_SECRET, {
    user: { id, name: "legacy" },
    permissions: [],
    ttlSeconds: 600,
  });
  return minted.token;
}

const victimId = () => `victim-${crypto.randomUUID().slice(0, 8)}`;

/** The three ways to listen, each answering the refusal (or a live listener when not refused). */
async function listenAll(db: string, token: string) {
  const polled = poll(db, token, { last_message: null, channels: ["client:c1"] }, 3);
  const sse = await openSse(db, token, ["client:c1"]);
  const ws = await tryConnect(`/ws/bus/${db}?channels=client:c1`, token);
  return { polled, sse, ws };
}

/** Refused before anything listens: a 4xx in the error shape (which layer refuses may vary). */
async function expectRefused(
  res: Response | TestSocket | SseReader | { status: number; body: any },
) {
  if (res instanceof TestSocket || res instanceof SseReader) throw new Error("it was let in");
  const body = res instanceof Response ? await res.json<any>() : res.body;
  expect(res.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
  expect(res.status, JSON.stringify(body)).toBeLessThan(500);
  expectErrorShape(body);
}

describe("bus: channel lists are structured across the Worker → object boundary", () => {
  it("a user id with a comma cannot open another user's user: channel (poll, SSE, WebSocket)", async () => {
    const db = newDb();
    const victim = victimId();
    const token = await legacyToken(`x,user:${victim}`);
    const started = Date.now();
    const { polled, sse, ws } = await listenAll(db, token);
    await publishReserved(db, `user:${victim}`, { type: "private" });

    await expectRefused(await polled);
    expect(Date.now() - started).toBeLessThan(2500);
    await expectRefused(sse);
    await expectRefused(ws);
  });

  it("a socket listens to exactly the channels the Worker admitted, whatever headers the client sends", async () => {
    const db = newDb();
    const victim = victimId();
    const forged = encodeURIComponent(JSON.stringify({ channels: [`user:${victim}`] }));
    const url = `${BASE}/ws/bus/${db}?channels=client:c1&token=${await legacyToken("u1")}`;
    const res = await SELF.fetch(url, {
      headers: { Upgrade: "websocket", "X-Switchboard-Admission": forged },
    });
    expect(res.status).toBe(101);
    res.webSocket?.accept();
    const socket = new TestSocket(res.webSocket as WebSocket);
    await publishReserved(db, `user:${victim}`, { type: "private" });
    const mine = await publishReserved(db, "client:c1", { type: "mine" });
    expect((await socket.event("message")).data.message.message_id).toBe(mine);
    expect(socket.frames.filter((f) => f?.event === "message")).toEqual([]);
    socket.close();
  });
});

describe("bus: a channel the bus refuses is a 4xx, never a retry loop", () => {
  for (const [what, id] of [
    ["a comma", "x,user:victim"],
    ["whitespace", "ada lovelace"],
    ["over 195 characters", "a".repeat(196)],
  ] as const) {
    it(`refuses a user id with ${what} at once on every transport`, async () => {
      const db = newDb();
      const started = Date.now();
      const { polled, sse, ws } = await listenAll(db, await legacyToken(id));
      await expectRefused(await polled);
      expect(Date.now() - started).toBeLessThan(2500);
      await expectRefused(sse);
      await expectRefused(ws);
    });

    it(`names channels in a 400 when a caller with a user id with ${what} gets that far`, () => {
      const caller: Caller = { kind: "user", user: { id, name: "legacy" }, permissions: [] };
      let refused: unknown;
      try {
        listenChannels(caller, ["client:c1"]);
      } catch (err) {
        refused = err;
      }
      expect(refused).toBeInstanceOf(ApiError);
      expect((refused as ApiError).status).toBe(400);
      expect((refused as ApiError).details).toEqual({
        channels: [expect.stringMatching(/^user:/)],
      });
    });
  }

  it("does not ask the object again when its own code refused the poll", async () => {
    const db = newDb();
    const started = Date.now();
    await expect(
      pollBus(
        env,
        db,
        { channels: ["not a channel"], last_message: null, timeout_ms: 5_000 },
        new AbortController().signal,
        () => undefined,
      ),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("still delivers to a well-formed id's own channel", async () => {
    const db = newDb();
    const token = await legacyToken("ada.lovelace+bus@example.org");
    const pending = poll(db, token, { last_message: null, channels: [] }, 10);
    await new Promise((r) => setTimeout(r, 300));
    const sent = await call("POST", `/api/bus/${db}/notify`, {
      token: ADMIN,
      body: { title: "Hi", user: "ada.lovelace+bus@example.org" },
    });
    expect(sent.status).toBe(201);
    expect((await pending).body.channel).toBe("user:ada.lovelace+bus@example.org");
  });
});
