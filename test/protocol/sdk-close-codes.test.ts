import { env, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CLOSE_CODES, RoomClient, type WebSocketLike } from "../../src/client/room-client";
import { BASE, tokenFor } from "../helpers/http";

/** Opens sockets through the real Worker, keeping the URL (and so the token) of each attempt. */
function dialer(urls: string[]) {
  return async (url: string): Promise<WebSocketLike> => {
    urls.push(url);
    const res = await SELF.fetch(url.replace(/^ws/, "http"), {
      headers: { Upgrade: "websocket" },
    });
    if (!res.webSocket) throw new Error(`upgrade refused: ${res.status}`);
    res.webSocket.accept();
    return res.webSocket as unknown as WebSocketLike;
  };
}

function waitFor(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) {
        return reject(new Error(`timed out waiting for ${what}`));
      }
      setTimeout(tick, 20);
    };
    tick();
  });
}

/** The room closes every socket it holds with `code`, as a room kind does. */
async function closeFromRoom(room: string, code: number): Promise<void> {
  const stub = env.TEST_ROOM.get(env.TEST_ROOM.idFromName(room));
  await runInDurableObject(stub, (_instance, state) => {
    for (const ws of state.getWebSockets()) ws.close(code, "closed by the test");
  });
}

describe("the close-code table", () => {
  it("says what the protocol says: reconnect after 4000 and 4401, never after 4403/4404/4410", () => {
    const byCode = Object.fromEntries(Object.values(CLOSE_CODES).map((c) => [c.code, c.reconnect]));
    expect(byCode).toMatchObject({
      4000: true,
      4401: true,
      4403: false,
      4404: false,
      4410: false,
    });
  });
});

describe("the SDK follows the close-code table over real sockets", () => {
  it.each(Object.entries(CLOSE_CODES))("after %s", async (_reason, { code, reconnect }) => {
    const room = crypto.randomUUID();
    const user = `sdk-close-${code}-${crypto.randomUUID().slice(0, 8)}`;
    const tokens = [await tokenFor(user), await tokenFor(user, [], { ttl_seconds: 7200 })];
    expect(tokens[0]).not.toBe(tokens[1]);
    let asked = 0;
    const urls: string[] = [];
    const client = new RoomClient({
      url: `${BASE}/ws/test/${room}`,
      // Each attempt asks for a token; a fresh one after the first.
      token: () => tokens[Math.min(asked++, 1)] ?? "",
      connect: dialer(urls),
      backoffBaseMs: 20,
    });
    const closes: number[] = [];
    client.on("close", (d) => closes.push(d.code));
    await waitFor(() => client.state === "open", "open");

    await closeFromRoom(room, code);
    await waitFor(() => closes.length === 1, `the ${code} close`);
    expect(closes).toEqual([code]);
    if (reconnect) {
      await waitFor(
        () => client.state === "open" && urls.length === 2,
        `reconnected after ${code}`,
      );
      // The reconnect carried the fresh token, and the room serves it.
      expect(new URL(urls[1] ?? "").searchParams.get("token")).toBe(tokens[1]);
      expect((await client.request("echo", { text: "back" })).status).toBe(200);
    } else {
      await waitFor(() => client.state === "closed", `closed for good after ${code}`);
      await new Promise((r) => setTimeout(r, 200));
      expect(urls).toHaveLength(1);
      expect(asked).toBe(1);
    }
    client.close();
  });
});
