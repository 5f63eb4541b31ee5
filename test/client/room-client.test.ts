import { abortAllDurableObjects, env, runDurableObjectAlarm, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CLOSE_CODES, RoomClient, type WebSocketLike } from "../../src/client/room-client";
import { ADMIN, BASE, call, tokenFor } from "../helpers/http";
import { createThread, party } from "../helpers/threads";
import { connect } from "../helpers/ws";

/** Opens sockets through the real Worker (workerd cannot dial its own test worker by URL). */
async function viaWorker(url: string): Promise<WebSocketLike> {
  const res = await SELF.fetch(url.replace(/^ws/, "http"), { headers: { Upgrade: "websocket" } });
  if (!res.webSocket) throw new Error(`upgrade refused: ${res.status}`);
  res.webSocket.accept();
  return res.webSocket as unknown as WebSocketLike;
}

function waitFor(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs)
        return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

describe("RoomClient against the real Worker", () => {
  it("requests get their replies, events reach handlers", async () => {
    const room = crypto.randomUUID();
    const token = await tokenFor("sdk-1");
    const client = new RoomClient({
      url: `${BASE}/ws/test/${room}`,
      token: () => token,
      connect: viaWorker,
    });
    const counted: number[] = [];
    client.on<{ count: number }>("counted", (d) => counted.push(d.count));
    const reply = await client.request("increment", { by: 2 });
    expect(reply).toMatchObject({ status: 200, errors: [], data: { count: 2 } });
    await waitFor(() => counted.length === 1, "counted event");
    expect(client.lastSeq).toBe(1);
    const refused = await client.request("shout", { text: "x" });
    expect(refused.status).toBe(403);
    client.close();
  });

  it("reconnects after an eviction with a fresh token and resumes without loss or duplicates", async () => {
    const room = crypto.randomUUID();
    let tokensAsked = 0;
    const token = await tokenFor("sdk-2");
    const client = new RoomClient({
      url: `${BASE}/ws/test/${room}`,
      token: () => {
        tokensAsked += 1;
        return token;
      },
      connect: viaWorker,
      backoffBaseMs: 50,
    });
    const seqs: number[] = [];
    client.on("counted", (_d, frame) => seqs.push(frame.seq!));
    const states: string[] = [];
    client.on<{ state: string }>("state", (d) => states.push(d.state));
    await client.request("increment", { by: 1 });
    await waitFor(() => seqs.length === 1, "first event");

    await abortAllDurableObjects();
    // Events published while the client is away must arrive after it resumes.
    const other = await connect(`/ws/test/${room}`, token);
    await other.request("increment", { by: 1 });
    await other.request("increment", { by: 1 });
    other.close();

    await waitFor(() => seqs.length === 3, "replayed events");
    await client.request("increment", { by: 1 });
    await waitFor(() => seqs.length === 4, "live event after resume");
    expect(seqs).toEqual([1, 2, 3, 4]);
    expect(tokensAsked).toBeGreaterThanOrEqual(2);
    expect(states).toContain("reconnecting");
    client.close();
  });

  it("keeps the connection alive with ping and reconnects when pongs stop", async () => {
    const room = crypto.randomUUID();
    const token = await tokenFor("sdk-3");
    const sockets: WebSocketLike[] = [];
    let deaf = false;
    const client = new RoomClient({
      url: `${BASE}/ws/test/${room}`,
      token: () => token,
      connect: async (url) => {
        const ws = await viaWorker(url);
        sockets.push(ws);
        // A path that silently stopped delivering: the socket looks open, pongs never arrive.
        return {
          get readyState() {
            return ws.readyState;
          },
          send: (d) => ws.send(d),
          close: (c, r) => ws.close(c, r),
          // One body for every event type; the overloads only differ in the event's shape.
          addEventListener: ((type: "message", listener: (e: { data: unknown }) => void) =>
            ws.addEventListener(type, (e) => {
              if (!(deaf && type === "message")) listener(e);
            })) as WebSocketLike["addEventListener"],
        };
      },
      keepaliveMs: 100,
      pongTimeoutMs: 300,
      backoffBaseMs: 20,
    });
    await waitFor(() => client.state === "open", "open");
    await new Promise((r) => setTimeout(r, 400));
    expect(sockets.length).toBe(1);
    deaf = true;
    await waitFor(() => sockets.length === 2, "a reconnect after the missing pong");
    deaf = false;
    await waitFor(() => client.state === "open", "open again");
    expect((await client.request("echo", { text: "back" })).status).toBe(200);
    client.close();
  });
});

/** A client token minted through the real endpoint, with its expiry (epoch ms). */
async function mint(id: string, ttl_seconds = 3600) {
  const res = await call("POST", "/api/tokens", {
    token: ADMIN,
    body: { user: { id, name: id }, ttl_seconds },
  });
  return { token: res.body.token as string, expiresAt: Date.parse(res.body.expires_at) };
}

const testRoom = (id: string) =>
  env.TEST_ROOM.get(env.TEST_ROOM.idFromName(id)) as unknown as DurableObjectStub;

/** Moves the clock of this isolate (Worker and rooms); real timers keep running. */
function clockAt(at: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
}

describe("RoomClient and the socket's credential", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("refreshes its token in band on token_expiring and stays connected past the old expiry", async () => {
    const room = crypto.randomUUID();
    const user = `sdk-refresh-${crypto.randomUUID().slice(0, 8)}`;
    const first = await mint(user);
    const tokens: string[] = [];
    const client = new RoomClient({
      url: `${BASE}/ws/test/${room}`,
      token: async () => {
        const token = tokens.length ? (await mint(user, 7200)).token : first.token;
        tokens.push(token);
        return token;
      },
      connect: viaWorker,
    });
    const refreshed: { expires_at: string | null }[] = [];
    client.on("token_refreshed", (d) => refreshed.push(d));
    const closes: number[] = [];
    client.on<{ code: number }>("close", (d) => closes.push(d.code));
    await waitFor(() => client.state === "open", "open");

    // The test room drops silent sockets: the client speaks at each step of the clock.
    clockAt(first.expiresAt - 60_000);
    expect((await client.request("echo", { text: "a" })).status).toBe(200);
    expect(await runDurableObjectAlarm(testRoom(room))).toBe(true);
    await waitFor(() => refreshed.length === 1, "the in-band refresh");
    expect(tokens).toHaveLength(2);
    expect(Date.parse(refreshed[0]?.expires_at ?? "")).toBeGreaterThan(first.expiresAt);

    clockAt(first.expiresAt + 1_000);
    expect((await client.request("echo", { text: "b" })).status).toBe(200);
    expect(await runDurableObjectAlarm(testRoom(room))).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(closes).toEqual([]);
    expect(client.state).toBe("open");
    client.close();
  });

  it("lets a failed refresh end in 4401, then reconnects with a fresh token and resumes", async () => {
    const room = crypto.randomUUID();
    const user = `sdk-expired-${crypto.randomUUID().slice(0, 8)}`;
    const first = await mint(user);
    const stranger = await mint(`stranger-${crypto.randomUUID().slice(0, 8)}`);
    let asked = 0;
    const client = new RoomClient({
      url: `${BASE}/ws/test/${room}`,
      // Connect, then a refresh the server refuses (another user's token), then the reconnect.
      token: async () => {
        asked += 1;
        if (asked === 1) return first.token;
        if (asked === 2) return stranger.token;
        return (await mint(user, 7200)).token;
      },
      connect: viaWorker,
      backoffBaseMs: 20,
    });
    const failures: unknown[] = [];
    client.on("token_refresh_failed", (d) => failures.push(d));
    const closes: number[] = [];
    client.on<{ code: number }>("close", (d) => closes.push(d.code));
    await waitFor(() => client.state === "open", "open");
    await client.request("increment", { by: 1 });

    // The test room drops silent sockets: the client speaks at each step of the clock.
    clockAt(first.expiresAt - 60_000);
    expect((await client.request("echo", { text: "a" })).status).toBe(200);
    expect(await runDurableObjectAlarm(testRoom(room))).toBe(true);
    await waitFor(() => failures.length === 1, "the refused refresh");
    expect(client.state).toBe("open");

    clockAt(first.expiresAt - 1_000);
    expect((await client.request("echo", { text: "b" })).status).toBe(200);
    clockAt(first.expiresAt);
    expect(await runDurableObjectAlarm(testRoom(room))).toBe(true);
    await waitFor(() => closes.length === 1, "the 4401 close");
    expect(closes).toEqual([CLOSE_CODES.credentialExpired.code]);
    await waitFor(() => client.state === "open" && asked === 3, "reconnected with a fresh token");
    expect((await client.request("increment", { by: 1 })).data).toEqual({ count: 2 });
    client.close();
  });

  it("never reconnects after access removed (4403) or room deleted (4404)", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const thread = await createThread(ada, [{ user_id: bob.id, name: "Bob" }]);
    const watch = (token: string) => {
      let asked = 0;
      const client = new RoomClient({
        url: `${BASE}/ws/threads/${thread}`,
        token: () => {
          asked += 1;
          return token;
        },
        connect: viaWorker,
        backoffBaseMs: 20,
      });
      const closes: number[] = [];
      client.on<{ code: number }>("close", (d) => closes.push(d.code));
      return { client, closes, asked: () => asked };
    };
    const removed = watch(bob.token);
    const deleted = watch(ada.token);
    await waitFor(
      () => removed.client.state === "open" && deleted.client.state === "open",
      "both open",
    );

    const out = await call("DELETE", `/api/threads/${thread}/users/${bob.id}`, {
      token: ada.token,
    });
    expect(out.status).toBe(204);
    await waitFor(() => removed.client.state === "closed", "closed for good after 4403");
    expect(removed.closes).toEqual([4403]);

    expect((await call("DELETE", `/api/threads/${thread}`, { token: ada.token })).status).toBe(204);
    await waitFor(() => deleted.client.state === "closed", "closed for good after 4404");
    expect(deleted.closes).toEqual([4404]);

    await new Promise((r) => setTimeout(r, 200));
    expect([removed.asked(), deleted.asked()]).toEqual([1, 1]);
  });

  it("never reconnects after the room ended (4410), and reconnects after an idle close (4000)", async () => {
    const session = await call("POST", "/api/poker/sessions", {
      token: ADMIN,
      body: { name: "Ends" },
    });
    let asked = 0;
    const token = await tokenFor(`sdk-poker-${crypto.randomUUID().slice(0, 8)}`);
    const client = new RoomClient({
      url: `${BASE}/ws/poker/${session.body.id}`,
      token: () => {
        asked += 1;
        return token;
      },
      connect: viaWorker,
      backoffBaseMs: 20,
    });
    const closes: number[] = [];
    client.on<{ code: number }>("close", (d) => closes.push(d.code));
    await waitFor(() => client.state === "open", "open");

    const stub = env.POKER_ROOM.get(env.POKER_ROOM.idFromName(session.body.id));
    clockAt(Date.now() + 61_000);
    expect(await runDurableObjectAlarm(stub as unknown as DurableObjectStub)).toBe(true);
    await waitFor(() => closes.length === 1, "the idle close");
    expect(closes).toEqual([4000]);
    await waitFor(() => client.state === "open" && asked === 2, "reconnected after 4000");

    const ended = await call("POST", `/api/poker/sessions/${session.body.id}/end`, {
      token: ADMIN,
    });
    expect(ended.status).toBe(200);
    await waitFor(() => client.state === "closed", "closed for good after 4410");
    expect(closes).toEqual([4000, 4410]);
    await new Promise((r) => setTimeout(r, 200));
    expect(asked).toBe(2);
  });
});
