import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RoomClient, type WebSocketLike } from "../../src/client/room-client";
import { newDb } from "../helpers/bus";
import { ADMIN, BASE, call, tokenFor } from "../helpers/http";

describe("RoomClient and coalesced frames", () => {
  it("asks with batch=1 and hands a batch's frames to its handlers one by one, in order", async () => {
    const db = newDb();
    const token = await tokenFor("sdk-batch", ["bus.listen:orders"]);
    const urls: string[] = [];
    const raw: string[] = [];
    let upgraded = false;
    const client = new RoomClient({
      url: `${BASE}/ws/bus/${db}?channels=orders`,
      token: () => token,
      connect: async (url) => {
        urls.push(url);
        const res = await SELF.fetch(url.replace(/^ws/, "http"), {
          headers: { Upgrade: "websocket" },
        });
        if (!res.webSocket) throw new Error(`upgrade refused: ${res.status}`);
        res.webSocket.accept();
        res.webSocket.addEventListener("message", (e) => raw.push(String(e.data)));
        upgraded = true;
        return res.webSocket as unknown as WebSocketLike;
      },
    });
    const got: number[] = [];
    client.on<{ message: { n: number } }>("message", (d) => got.push(d.message.n));
    // The upgrade answers once the socket listens: a publish after it reaches the socket.
    for (let i = 0; i < 250 && !upgraded; i++) await new Promise((r) => setTimeout(r, 20));
    const messages = [1, 2, 3].map((n) => ({ channel: "orders", message: { type: "t", n } }));
    const res = await call("POST", `/api/bus/${db}/publish`, { token: ADMIN, body: { messages } });
    expect(res.status).toBe(201);
    for (let i = 0; i < 200 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 25));
    expect(got).toEqual([1, 2, 3]);
    expect(new URL(urls[0] as string).searchParams.get("batch")).toBe("1");
    expect(raw.filter((t) => t.startsWith("["))).toHaveLength(1);
    client.close();
  });
});
