import { abortAllDurableObjects, env, runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { GRACE_MS, pokerStub, runAlarmPastGrace } from "../features/poker/support";
import { ADMIN, call, expectErrorShape, tokenFor } from "../helpers/http";
import { adminHook, backstopAndSettle, failNextBatch } from "../helpers/reliability/outbox-faults";
import { captureFetch } from "../helpers/webhooks";
import { connect, type TestSocket } from "../helpers/ws";

/** Presence through the room kind that tracks it (poker): real sockets, real D1 and Queue. */

const sockets: TestSocket[] = [];
afterEach(() => {
  for (const ws of sockets.splice(0)) ws.close();
  vi.restoreAllMocks();
});

const u = () => crypto.randomUUID().slice(0, 8);

async function session(): Promise<string> {
  const res = await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name: "P" } });
  expect(res.status).toBe(201);
  return res.body.id;
}

async function open(id: string, token: string): Promise<TestSocket> {
  const ws = await connect(`/ws/poker/${id}`, token);
  sockets.push(ws);
  return ws;
}

const roster = (id: string, token = ADMIN, query = "") =>
  call("GET", `/api/rooms/poker/${id}/presence${query}`, { token });

const listing = (n: number) => (f: any) =>
  f?.event === "participants_changed" && f.data.participants.length === n;

describe("presence: joins and leaves", () => {
  it("coalesces a burst of joins into a few frames with the final list right", async () => {
    const id = await session();
    const watcher = await open(id, await tokenFor(`w-${u()}`, [], { name: "Watcher" }));
    await watcher.next(listing(1), "the watcher listed");
    watcher.frames.length = 0;
    const tokens = await Promise.all(
      Array.from({ length: 20 }, (_, i) => tokenFor(`b${i}-${u()}`, [], { name: `B${i}` })),
    );
    const burst = await Promise.all(tokens.map((t) => open(id, t)));
    const last = await watcher.next(listing(21), "all 21 listed");
    expect(last.data.participants.map((p: any) => p.name)).toEqual(
      ["Watcher", ...tokens.map((_, i) => `B${i}`)].sort((a, b) => a.localeCompare(b)),
    );
    await Promise.all(burst.map((ws) => ws.next(listing(21), "all 21 listed")));
    // Without coalescing this is one frame per join (20); the window allows a handful.
    await watcher.nothing(() => false, 400);
    const frames = watcher.frames.filter((f) => f?.event === "participants_changed");
    expect(frames.length + 1).toBeLessThanOrEqual(6);
  });

  it("counts a user with several tabs once, with their connections in the roster", async () => {
    const id = await session();
    const ada = `ada-${u()}`;
    const token = await tokenFor(ada, ["planning_poker.vote"], { name: "Ada" });
    const tabs = [await open(id, token), await open(id, token), await open(id, token)];
    const bob = await open(id, await tokenFor(`bob-${u()}`, [], { name: "Bob" }));
    await bob.next(listing(2), "Ada and Bob listed");
    const res = await roster(id);
    expect(res.status).toBe(200);
    expect(res.body.count).toBe(2);
    expect(res.body.results[0]).toEqual({
      user_id: ada,
      name: "Ada",
      connections: 3,
      grace_until: null,
    });
    expect(res.body.results[1]).toMatchObject({ name: "Bob", connections: 1 });
    // Closing one tab of three is not a leave: nobody is told anything.
    tabs[0]?.close();
    await bob.nothing((f) => f?.event === "participants_changed", 500);
    expect((await roster(id)).body.results[0].connections).toBe(2);
  });

  it("keeps a user whose last tab closed for the grace, then lets them go", async () => {
    const id = await session();
    const zed = await open(id, await tokenFor(`zed-${u()}`, [], { name: "Zed" }));
    const amy = await open(id, await tokenFor(`amy-${u()}`, [], { name: "Amy" }));
    await amy.next(listing(2), "both listed");
    amy.frames.length = 0;
    zed.close();
    await vi.waitFor(
      async () => {
        const zedRow = (await roster(id)).body.results.find((r: any) => r.name === "Zed");
        expect(zedRow).toMatchObject({ connections: 0 });
        expect(Date.parse(zedRow.grace_until)).toBeGreaterThan(Date.now());
      },
      { timeout: 5_000, interval: 50 },
    );
    await amy.nothing((f) => f?.event === "participants_changed", 400);
    await runAlarmPastGrace(pokerStub(id));
    expect((await amy.next(listing(1), "Zed gone")).data.participants[0].name).toBe("Amy");
    expect((await roster(id)).body).toMatchObject({ count: 1, next: null });
  });
});

describe("presence: the roster route", () => {
  it("pages through the users sorted by name", async () => {
    const id = await session();
    const names = ["Cy", "Al", "Bo", "Di", "Ed"];
    const opened = [];
    for (const name of names) {
      opened.push(await open(id, await tokenFor(`${name}-${u()}`, [], { name })));
    }
    await opened[0]?.next(listing(5), "all five listed");
    const first = await roster(id, ADMIN, "?limit=2");
    expect(first.status).toBe(200);
    expect(first.body.results.map((r: any) => r.name)).toEqual(["Al", "Bo"]);
    expect(first.body).toMatchObject({ next: 2, count: 5 });
    const second = await roster(id, ADMIN, "?limit=2&offset=2");
    expect(second.body.results.map((r: any) => r.name)).toEqual(["Cy", "Di"]);
    const last = await roster(id, ADMIN, "?limit=2&offset=4");
    expect(last.body.results.map((r: any) => r.name)).toEqual(["Ed"]);
    expect(last.body.next).toBeNull();
  });

  it("answers the admin and whoever the room admits; refuses the rest in the error shape", async () => {
    const id = await session();
    const member = await tokenFor(`m-${u()}`);
    await open(id, member);
    expect((await roster(id, member)).status).toBe(200);
    const anonymous = await roster(id, "");
    expect(anonymous.status).toBe(401);
    expectErrorShape(anonymous.body);
    const unknown = await roster(crypto.randomUUID(), ADMIN);
    expect(unknown.status).toBe(404);
    expectErrorShape(unknown.body);
    const noPresence = await call("GET", "/api/rooms/bus/db1/presence", { token: ADMIN });
    expect(noPresence.status).toBe(404);
    const noKind = await call("GET", "/api/rooms/nope/x/presence", { token: ADMIN });
    expect(noKind.status).toBe(404);
    const bad = await roster(id, ADMIN, "?limit=0");
    expect(bad.status).toBe(400);
    expectErrorShape(bad.body);
    await call("POST", `/api/poker/sessions/${id}/end`, { token: ADMIN });
    expect((await roster(id, member)).status).toBe(410);
  });
});

/** The lifecycle events of one room, in the order the receiver got them. */
function lifecycleOf(posts: { body: string }[], id: string): string[] {
  return posts
    .map((p) => JSON.parse(p.body))
    .filter((b) => b.data?.id === id)
    .map((b) => `${b.event.type} ${b.data.kind}`);
}

const recorded = async (type: string, id: string) =>
  (
    await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM webhook_events WHERE event_type = ? AND json_extract(data, '$.id') = ?",
    )
      .bind(type, id)
      .first<{ n: number }>()
  )?.n;

describe("presence: room lifecycle webhooks", () => {
  it("lists room.occupied and room.vacated as built-in types only the admin may subscribe to", async () => {
    const types = await call("GET", "/api/webhooks/event-types?limit=200", { token: ADMIN });
    const byName = new Map<string, any>(types.body.results.map((t: any) => [t.event_type, t]));
    for (const name of ["room.occupied", "room.vacated"]) {
      expect(byName.get(name)).toMatchObject({ builtin: true });
      expect(byName.get(name).schema.required).toEqual(["kind", "id"]);
      const user = await tokenFor(`s-${u()}`, ["webhooks.subscribe:*"]);
      const refused = await call("POST", "/api/webhooks", {
        token: user,
        body: { event_type: name, target_url: "https://receiver.example/x" },
      });
      expect(refused.status).toBe(403);
    }
  });

  it("a real hook receives room.occupied, then room.vacated once the grace is over", async () => {
    const occupied = await adminHook("room.occupied");
    const vacated = await adminHook("room.vacated");
    const { calls } = captureFetch();
    const id = await session();
    const token = await tokenFor(`l-${u()}`);
    const first = await open(id, token);
    const second = await open(id, token);
    await backstopAndSettle(occupied.id);
    expect(lifecycleOf(calls, id)).toEqual(["room.occupied poker"]);
    first.close();
    second.close();
    await vi.waitFor(async () => expect((await roster(id)).body.results[0]?.connections).toBe(0));
    expect(await recorded("room.vacated", id)).toBe(0);
    // The room's clock past the grace, and the consumer's too: the event is due when stored.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + GRACE_MS + 1_000);
      expect(await runDurableObjectAlarm(pokerStub(id))).toBe(true);
      await backstopAndSettle(vacated.id);
    } finally {
      vi.useRealTimers();
    }
    expect(lifecycleOf(calls, id)).toEqual(["room.occupied poker", "room.vacated poker"]);
  });

  it("a reload within the grace emits nothing, even across an eviction", async () => {
    const id = await session();
    const token = await tokenFor(`r-${u()}`);
    (await open(id, token)).close();
    await vi.waitFor(async () => expect((await roster(id)).body.results[0]?.connections).toBe(0));
    await open(id, token);
    await abortAllDurableObjects();
    await open(id, token);
    const stub = pokerStub(id);
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + GRACE_MS / 2);
      await runDurableObjectAlarm(stub);
    } finally {
      vi.useRealTimers();
    }
    expect(await recorded("room.occupied", id)).toBe(1);
    expect(await recorded("room.vacated", id)).toBe(0);
    expect((await roster(id)).body.results).toMatchObject([{ connections: 1 }]);
  });

  it("keeps an event whose recording failed in the room, and the alarm records it once", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const id = await session();
    const injected = failNextBatch("before");
    await open(id, await tokenFor(`f-${u()}`));
    expect(injected.fired).toBe(true);
    expect(await recorded("room.occupied", id)).toBe(0);
    expect(await runDurableObjectAlarm(pokerStub(id))).toBe(true);
    expect(await recorded("room.occupied", id)).toBe(1);
    await runDurableObjectAlarm(pokerStub(id));
    expect(await recorded("room.occupied", id)).toBe(1);
  });
});
