import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiOf, type DevServer, startDevServer } from "./support/dev-server";
import { type Arrival, payloadOf, type Receiver, startReceiver, waitFor } from "./support/receiver";

let server: DevServer;
let receiver: Receiver;

beforeAll(async () => {
  [server, receiver] = await Promise.all([startDevServer(), startReceiver()]);
});

afterAll(async () => {
  await server?.stop();
  await receiver?.close();
});

const api = (method: string, path: string, body?: unknown) => apiOf(server)(method, path, body);
const nameOf = (a: Pick<Arrival, "body">): string => payloadOf(a).data.name;
const uuidOf = (a: Pick<Arrival, "body">): string => payloadOf(a).event.uuid;

async function hookOn(eventType: string, path: string, extra: Record<string, unknown>) {
  const type = await api("POST", "/api/webhooks/event-types", { event_type: eventType });
  expect(type.status).toBe(201);
  const hook = await api("POST", "/api/webhooks", {
    event_type: eventType,
    target_url: `${receiver.base}${path}`,
    retry_countdown_config: { choice: "fixed", kwargs: { seconds: 1 } },
    ...extra,
  });
  expect(hook.status).toBe(201);
  return hook.body;
}

async function emit(eventType: string, name: string, ordering_key?: string): Promise<string> {
  const res = await api("POST", "/api/webhook-events", {
    event_type: eventType,
    data: { name },
    ordering_key,
  });
  expect(res.status).toBe(202);
  return res.body.event_uuid;
}

const arrivalsAt = (path: string) => receiver.arrivals.filter((a) => a.path === path);
const succeeded = (path: string) => arrivalsAt(path).filter((a) => a.status === 200);
const gaps = (list: Arrival[]) =>
  list.slice(1).map((a, i) => Math.round(a.at - (list[i] as Arrival).at));

/** Every uuid got exactly one 200: nothing dropped, nothing delivered twice. */
function expectEachOnce(path: string, uuids: string[]): void {
  const counts = new Map<string, number>();
  for (const a of succeeded(path)) counts.set(uuidOf(a), (counts.get(uuidOf(a)) ?? 0) + 1);
  expect([...counts.keys()].sort()).toEqual([...uuids].sort());
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
}

// Arrival gaps may come in a little under the slot spacing: the POSTs start on their slots, but
// each crosses the local network and an event loop on its way.
const SLACK_MS = 40;

describe("a paced hook under wrangler dev, against a real receiver", () => {
  it("spaces deliveries at rate_limit, slows down after a 429, then comes back", async () => {
    const path = "/paced";
    const hook = await hookOn("pace-test", path, { rate_limit: 2 });
    expect(hook.rate_limit).toBe(2);

    // At 2 per second: never closer than 500 ms, and as close as that when there is a backlog.
    const first = await Promise.all(
      Array.from({ length: 8 }, (_, i) => emit("pace-test", `p${i}`)),
    );
    await waitFor("the first 8 deliveries", () => succeeded(path).length === 8, 60_000);
    const nominal = gaps(succeeded(path));
    expect(Math.min(...nominal), `gaps ${nominal}`).toBeGreaterThanOrEqual(500 - SLACK_MS);
    expect(Math.min(...nominal)).toBeLessThan(650);

    // A 429 (Retry-After: 1) halves the pace; its retry succeeds a second later.
    receiver.answer.set(path, (a) =>
      nameOf(a) === "throttled" && !arrivalsAt(path).some((b) => nameOf(b) === "throttled")
        ? { status: 429, headers: { "Retry-After": "1" } }
        : 200,
    );
    const throttled = await emit("pace-test", "throttled");
    await waitFor("the throttled event's retry", () => succeeded(path).length === 9, 60_000);
    await new Promise((r) => setTimeout(r, 300));
    const burst = await Promise.all(
      Array.from({ length: 4 }, (_, i) => emit("pace-test", `s${i}`)),
    );
    await waitFor("the slowed burst", () => succeeded(path).length === 13, 60_000);
    const slowed = gaps(succeeded(path).slice(9));
    // At 1 + 0.2 per second: about 830 ms apart for the first of them, never under 500.
    expect(slowed[0], `gaps ${slowed}`).toBeGreaterThanOrEqual(800 - SLACK_MS);
    expect(Math.min(...slowed)).toBeGreaterThanOrEqual(500 - SLACK_MS);

    // Five successes since the 429 bring the pace back to 2 per second.
    const again = await Promise.all(
      Array.from({ length: 4 }, (_, i) => emit("pace-test", `r${i}`)),
    );
    await waitFor("the recovered burst", () => succeeded(path).length === 17, 60_000);
    const recovered = gaps(succeeded(path).slice(13));
    expect(recovered[0], `gaps ${recovered}`).toBeGreaterThanOrEqual(500 - SLACK_MS);
    expect(recovered[0]).toBeLessThan(650);
    expect(Math.min(...recovered)).toBeGreaterThanOrEqual(500 - SLACK_MS);

    expectEachOnce(path, [...first, throttled, ...burst, ...again]);
    expect(
      arrivalsAt(path)
        .filter((a) => a.status === 429)
        .map((a) => uuidOf(a)),
    ).toEqual([throttled]);
  });
});

describe("an ordered hook under wrangler dev, against a real receiver that fails for a while", () => {
  it("keeps each key's order, lets the other key flow, and delivers every event once", async () => {
    const path = "/ordered";
    const hook = await hookOn("order-test", path, { ordered: true, max_retries: 10 });
    expect(hook.ordered).toBe(true);
    // Key a's events are refused (500) for their first three arrivals: a1 and its first retries.
    receiver.answer.set(path, (a) =>
      nameOf(a).startsWith("a") &&
      arrivalsAt(path).filter((b) => nameOf(b).startsWith("a")).length < 3
        ? 500
        : 200,
    );
    const uuids: string[] = [];
    for (const name of ["a1", "b1", "a2", "b2", "a3", "b3"]) {
      uuids.push(await emit("order-test", name, name.slice(0, 1)));
    }
    await waitFor("all six events", () => succeeded(path).length === 6, 60_000);
    // Nothing more comes afterwards (no duplicate a late message would send).
    await new Promise((r) => setTimeout(r, 2_000));
    expectEachOnce(path, uuids);

    const all = arrivalsAt(path);
    const ofKey = (k: string) => all.filter((a) => nameOf(a).startsWith(k));
    const a1Success = all.find((a) => nameOf(a) === "a1" && a.status === 200) as Arrival;
    // Key a: a1 three times refused, then a1, a2, a3, each sent only after the one before it.
    expect(ofKey("a").map((a) => [nameOf(a), a.status])).toEqual([
      ["a1", 500],
      ["a1", 500],
      ["a1", 500],
      ["a1", 200],
      ["a2", 200],
      ["a3", 200],
    ]);
    // Key b was not held back by a's outage: all of it arrived, in order, before a1 got through.
    expect(ofKey("b").map((a) => nameOf(a))).toEqual(["b1", "b2", "b3"]);
    expect(Math.max(...ofKey("b").map((a) => a.at))).toBeLessThan(a1Success.at);
  });
});
