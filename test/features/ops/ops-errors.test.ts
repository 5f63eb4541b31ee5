import { env, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { ADMIN, BASE, call, expectErrorShape } from "../../helpers/http";

/** The stored errors, newest first, as the console reads them. */
async function recentErrors(): Promise<any[]> {
  const res = await call("GET", "/api/errors?limit=200", { token: ADMIN });
  expect(res.status).toBe(200);
  return res.body.results;
}

/** Runs `fn` with the live_rooms table away, so routes reading it fail for real (D1 error). */
async function withoutLiveRooms<T>(fn: () => Promise<T>): Promise<T> {
  await env.DB.exec("ALTER TABLE live_rooms RENAME TO live_rooms_away");
  try {
    return await fn();
  } finally {
    await env.DB.exec("ALTER TABLE live_rooms_away RENAME TO live_rooms");
  }
}

/** The room's error path, as its entry points call it when a hook throws. */
type Reporting = { reportError(err: unknown, where: string): unknown };

function inRoom(session: string, fn: (room: Reporting) => void): Promise<void> {
  const stub: DurableObjectStub = env.POKER_ROOM.get(env.POKER_ROOM.idFromName(session));
  return runInDurableObject(stub, (room: unknown) => fn(room as Reporting));
}

describe("recent errors (contract §9)", () => {
  it("an unhandled error in a route lands with its request id and no credential", async () => {
    const res = await withoutLiveRooms(() =>
      call("GET", "/api/rooms", { token: ADMIN, headers: { "X-Request-Id": "req-errors-1" } }),
    );
    expect(res.status).toBe(500);
    expectErrorShape(res.body);
    const stored = await vi.waitFor(async () => {
      const found = (await recentErrors()).find((e) => e.request_id === "req-errors-1");
      expect(found).toBeDefined();
      return found;
    });
    expect(stored).toMatchObject({ event: "http.error", room: null });
    expect(stored.message).toContain("GET /api/rooms");
    expect(stored.message).toContain("no such table");
    // A failed query's bound values (which can be a body) are not kept.
    expect(stored.message).not.toContain("params:");
    expect(JSON.stringify(stored)).not.toContain(ADMIN);
  });

  it("a room error lands with its room, its message redacted", async () => {
    const session = (
      await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name: "Errors" } })
    ).body.id;
    await inRoom(session, (room) => {
      room.reportError(new Error("upstream refused Bearer sekrit-123 and sbk_abcdef"), "onTest");
    });
    const stored = await vi.waitFor(async () => {
      const found = (await recentErrors()).find((e) => e.room?.endsWith(`:${session}`));
      expect(found).toBeDefined();
      return found;
    });
    expect(stored.event).toBe("room.error");
    expect(stored.message).toContain("onTest");
    expect(stored.message).toContain("[redacted]");
    expect(stored.message).not.toContain("sekrit-123");
    expect(stored.message).not.toContain("abcdef");
  });

  it("keeps only the newest 200", async () => {
    const session = (
      await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name: "Many" } })
    ).body.id;
    await inRoom(session, (room) => {
      for (let i = 0; i < 205; i++) room.reportError(new Error(`flood ${i}`), "onTest");
    });
    await vi.waitFor(async () => {
      const all = await recentErrors();
      expect(all[0].message).toContain("flood 204");
      const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM recent_errors").first<{
        n: number;
      }>();
      expect(count?.n).toBe(200);
    });
  });

  it("is paginated and refused without console.read", async () => {
    const res = await call("GET", "/api/errors?limit=1", { token: ADMIN });
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(1);
    expect(res.body.next).toBe(1);
    expect((await call("GET", "/api/errors")).status).toBe(401);
    expect((await call("GET", "/api/errors?limit=0", { token: ADMIN })).status).toBe(400);
  });
});

type SseEvent = { event: string; data: any };

/** Reads a stream event by event; every wait fails after `ms` saying what was awaited. */
function sseReader(res: Response) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const pending: SseEvent[] = [];
  async function next(ms = 8_000): Promise<SseEvent> {
    const deadline = setTimeout(() => reader.cancel(`no event within ${ms} ms`), ms);
    try {
      while (!pending.length) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended while an event was awaited (${ms} ms)`);
        text += value;
        for (let end = text.indexOf("\n\n"); end >= 0; end = text.indexOf("\n\n")) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) pending.push({ event, data: JSON.parse(data) });
        }
      }
      return pending.shift()!;
    } finally {
      clearTimeout(deadline);
    }
  }
  return { next, close: () => reader.cancel().catch(() => undefined) };
}

describe("GET /api/console/stream", () => {
  it("sends stats, rooms and errors at once, then each tick only the new errors (?token=)", async () => {
    const res = await SELF.fetch(`${BASE}/api/console/stream?token=${ADMIN}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/event-stream");
    const stream = sseReader(res);
    try {
      const first = [await stream.next(), await stream.next(), await stream.next()];
      expect(first.map((e) => e.event)).toEqual(["stats", "rooms", "errors"]);
      expect(first[0]!.data).toHaveProperty("webhooks.hooks_active");
      expect(first[1]!.data).toHaveProperty("results");
      const newest = first[2]!.data.results[0].id;

      // The next tick (5 s later) carries stats and rooms again, and errors only the new one.
      const session = (
        await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name: "Live" } })
      ).body.id;
      await inRoom(session, (room) => room.reportError(new Error("live one"), "onTest"));
      const tick = [await stream.next(), await stream.next(), await stream.next()];
      expect(tick.map((e) => e.event)).toEqual(["stats", "rooms", "errors"]);
      expect(tick[2]!.data.results.map((e: any) => e.id)).toEqual([newest + 1]);
      expect(tick[2]!.data.results[0].message).toContain("live one");
    } finally {
      await stream.close();
    }
  }, 15_000);

  it("refuses a missing credential (other callers: the access table)", async () => {
    const anonymous = await SELF.fetch(`${BASE}/api/console/stream`);
    expect(anonymous.status).toBe(401);
    expectErrorShape(await anonymous.json());
  });
});
