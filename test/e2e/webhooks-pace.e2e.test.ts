import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_ADMIN_TOKEN, type DevServer, startDevServer } from "./support/dev-server";

/** One POST the receiver got: when (ms, this process's clock), what, and what it answered. */
interface Arrival {
  at: number;
  path: string;
  uuid: string;
  name: string;
  status: number;
}

type Answer = (arrival: Omit<Arrival, "status">) => {
  status: number;
  headers?: Record<string, string>;
};

/** A real local receiver: records every arrival and answers what `answer` says (200 by default). */
function startReceiver() {
  const arrivals: Arrival[] = [];
  const state: { answer: Answer } = { answer: () => ({ status: 200 }) };
  const server: Server = createServer((req, res) => {
    const at = performance.now();
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      const seen = { at, path: req.url ?? "", uuid: body.event.uuid, name: body.data.name };
      const { status, headers } = state.answer(seen);
      arrivals.push({ ...seen, status });
      res.writeHead(status, headers);
      res.end(status === 200 ? "ok" : "not now");
    });
  });
  return new Promise<{ url: string; arrivals: Arrival[]; state: typeof state; server: Server }>(
    (resolve) => {
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo;
        resolve({ url: `http://127.0.0.1:${port}`, arrivals, state, server });
      });
    },
  );
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let server: DevServer;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  [server, receiver] = await Promise.all([startDevServer(), startReceiver()]);
});

afterAll(async () => {
  await server?.stop();
  await new Promise((r) => receiver?.server.close(r));
});

const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${DEV_ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};

async function hookOn(eventType: string, path: string, extra: Record<string, unknown>) {
  const type = await api("POST", "/api/webhooks/event-types", { event_type: eventType });
  expect(type.status).toBe(201);
  const hook = await api("POST", "/api/webhooks", {
    event_type: eventType,
    target_url: `${receiver.url}${path}`,
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
  for (const a of succeeded(path)) counts.set(a.uuid, (counts.get(a.uuid) ?? 0) + 1);
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
    await waitFor("the first 8 deliveries", () => succeeded(path).length === 8);
    const nominal = gaps(succeeded(path));
    expect(Math.min(...nominal), `gaps ${nominal}`).toBeGreaterThanOrEqual(500 - SLACK_MS);
    expect(Math.min(...nominal)).toBeLessThan(650);

    // A 429 (Retry-After: 1) halves the pace; its retry succeeds a second later.
    receiver.state.answer = (a) =>
      a.name === "throttled" && !arrivalsAt(path).some((b) => b.name === "throttled")
        ? { status: 429, headers: { "Retry-After": "1" } }
        : { status: 200 };
    const throttled = await emit("pace-test", "throttled");
    await waitFor("the throttled event's retry", () => succeeded(path).length === 9);
    await new Promise((r) => setTimeout(r, 300));
    const burst = await Promise.all(
      Array.from({ length: 4 }, (_, i) => emit("pace-test", `s${i}`)),
    );
    await waitFor("the slowed burst", () => succeeded(path).length === 13);
    const slowed = gaps(succeeded(path).slice(9));
    // At 1 + 0.2 per second: about 830 ms apart for the first of them, never under 500.
    expect(slowed[0], `gaps ${slowed}`).toBeGreaterThanOrEqual(800 - SLACK_MS);
    expect(Math.min(...slowed)).toBeGreaterThanOrEqual(500 - SLACK_MS);

    // Five successes since the 429 bring the pace back to 2 per second.
    const again = await Promise.all(
      Array.from({ length: 4 }, (_, i) => emit("pace-test", `r${i}`)),
    );
    await waitFor("the recovered burst", () => succeeded(path).length === 17);
    const recovered = gaps(succeeded(path).slice(13));
    expect(recovered[0], `gaps ${recovered}`).toBeGreaterThanOrEqual(500 - SLACK_MS);
    expect(recovered[0]).toBeLessThan(650);
    expect(Math.min(...recovered)).toBeGreaterThanOrEqual(500 - SLACK_MS);

    expectEachOnce(path, [...first, throttled, ...burst, ...again]);
    expect(
      arrivalsAt(path)
        .filter((a) => a.status === 429)
        .map((a) => a.uuid),
    ).toEqual([throttled]);
  });
});

describe("an ordered hook under wrangler dev, against a real receiver that fails for a while", () => {
  it("keeps each key's order, lets the other key flow, and delivers every event once", async () => {
    const path = "/ordered";
    const hook = await hookOn("order-test", path, { ordered: true, max_retries: 10 });
    expect(hook.ordered).toBe(true);
    // Key a's events are refused (500) for their first three arrivals: a1 and its first retries.
    receiver.state.answer = (a) =>
      a.name.startsWith("a") && arrivalsAt(path).filter((b) => b.name.startsWith("a")).length < 3
        ? { status: 500 }
        : { status: 200 };
    const uuids: string[] = [];
    for (const name of ["a1", "b1", "a2", "b2", "a3", "b3"]) {
      uuids.push(await emit("order-test", name, name.slice(0, 1)));
    }
    await waitFor("all six events", () => succeeded(path).length === 6);
    // Nothing more comes afterwards (no duplicate a late message would send).
    await new Promise((r) => setTimeout(r, 2_000));
    expectEachOnce(path, uuids);

    const all = arrivalsAt(path);
    const ofKey = (k: string) => all.filter((a) => a.name.startsWith(k));
    const a1Success = all.find((a) => a.name === "a1" && a.status === 200) as Arrival;
    // Key a: a1 three times refused, then a1, a2, a3, each sent only after the one before it.
    expect(ofKey("a").map((a) => [a.name, a.status])).toEqual([
      ["a1", 500],
      ["a1", 500],
      ["a1", 500],
      ["a1", 200],
      ["a2", 200],
      ["a3", 200],
    ]);
    // Key b was not held back by a's outage: all of it arrived, in order, before a1 got through.
    expect(ofKey("b").map((a) => a.name)).toEqual(["b1", "b2", "b3"]);
    expect(Math.max(...ofKey("b").map((a) => a.at))).toBeLessThan(a1Success.at);
  });
});
