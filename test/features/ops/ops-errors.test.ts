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

/** Reads the stream until `count` events arrived (or fails after 5 s saying what was awaited). */
async function readEvents(res: Response, count: number): Promise<{ event: string; data: any }[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: { event: string; data: any }[] = [];
  let text = "";
  const deadline = setTimeout(() => reader.cancel("timed out"), 5_000);
  try {
    while (events.length < count) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended after ${events.length} of ${count} events`);
      text += value;
      let end = text.indexOf("\n\n");
      while (end >= 0) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
        end = text.indexOf("\n\n");
      }
    }
  } finally {
    clearTimeout(deadline);
    await reader.cancel().catch(() => undefined);
  }
  return events;
}

describe("GET /api/console/stream", () => {
  it("sends stats, rooms and the recent errors at once, with ?token= (EventSource)", async () => {
    const res = await SELF.fetch(`${BASE}/api/console/stream?token=${ADMIN}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/event-stream");
    const events = await readEvents(res, 3);
    expect(events.map((e) => e.event)).toEqual(["stats", "rooms", "errors"]);
    expect(events[0]!.data).toHaveProperty("webhooks.hooks_active");
    expect(events[1]!.data).toHaveProperty("results");
    expect(events[2]!.data.results.length).toBeGreaterThan(0);
  });

  it("refuses a missing credential (other callers: the access table)", async () => {
    const anonymous = await SELF.fetch(`${BASE}/api/console/stream`);
    expect(anonymous.status).toBe(401);
    expectErrorShape(await anonymous.json());
  });
});
