import { abortAllDurableObjects, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RoomClient, type WebSocketLike } from "../src/client/room-client";
import { BASE, tokenFor } from "./helpers/http";
import { connect } from "./helpers/ws";

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
          addEventListener: (type, listener) =>
            ws.addEventListener(type, (e) => {
              if (!(deaf && type === "message")) listener(e);
            }),
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
