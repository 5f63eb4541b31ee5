import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  newDb,
  openSse,
  poll,
  publish,
  random,
  type SseReader,
  seqOf,
  sleep,
} from "../../helpers/bus";
import { tokenFor } from "../../helpers/http";
import { type TestSocket, tryConnect } from "../../helpers/ws";

/**
 * The delivery guarantee of contract §4, randomized: publishers on several channels at once,
 * a client that resumes from the last message id it received (polling, WebSocket, SSE), polls
 * and reconnects racing publishes, and a Durable Object eviction in the middle. Per channel the
 * client must receive exactly the published list: nothing lost, nothing twice, in order.
 */

const CHANNELS = ["orders.0", "orders.1", "orders.2", "orders.3"];
const PUBLISHERS = 3;
const PER_PUBLISHER = 16;
const TOTAL = PUBLISHERS * PER_PUBLISHER;
const DEADLINE_MS = 15_000;

type Received = Map<string, string[]>;

interface Scenario {
  db: string;
  token: string;
  rand: () => number;
  /** The id the client starts after (published before anything else). */
  start: string;
  /** Published ids per channel, in the order the bus assigned. */
  published: () => Map<string, string[]>;
  publishing: () => boolean;
}

function record(received: Received, channel: string, id: string): void {
  const list = received.get(channel) ?? [];
  list.push(id);
  received.set(channel, list);
}

const count = (m: Received) => [...m.values()].reduce((n, l) => n + l.length, 0);

/** Runs publishers and an eviction against `client`, then checks what it received. */
async function run(seed: number, client: (s: Scenario) => Promise<Received>): Promise<void> {
  const rand = random(seed);
  const db = newDb();
  const token = await tokenFor(`u-${seed}`, ["bus.listen:orders.*"]);
  const start = await publish(db, "orders.0", { type: "start" });
  const sent: { channel: string; id: string }[] = [];
  let active = PUBLISHERS;
  let evicted = false;

  const publisher = async (p: number) => {
    for (let n = 0; n < PER_PUBLISHER; n++) {
      const channel = CHANNELS[Math.floor(rand() * CHANNELS.length)] as string;
      const id = await publish(db, channel, { type: "m", p, n });
      sent.push({ channel, id });
      if (!evicted && sent.length >= TOTAL / 2) {
        evicted = true;
        await abortAllDurableObjects();
      }
      if (rand() < 0.5) await sleep(Math.floor(rand() * 15));
    }
    active--;
  };

  const scenario: Scenario = {
    db,
    token,
    rand,
    start,
    publishing: () => active > 0,
    published: () => {
      const out = new Map<string, string[]>();
      for (const { channel, id } of [...sent].sort((a, b) => seqOf(a.id) - seqOf(b.id))) {
        record(out, channel, id);
      }
      return out;
    },
  };
  const [received] = await Promise.all([
    client(scenario),
    ...Array.from({ length: PUBLISHERS }, (_, p) => publisher(p)),
  ]);
  expect(evicted).toBe(true);
  const expected = scenario.published();
  expect(count(expected), `seed ${seed}`).toBe(TOTAL);
  for (const channel of CHANNELS) {
    expect(received.get(channel) ?? [], `seed ${seed}, channel ${channel}`).toEqual(
      expected.get(channel) ?? [],
    );
  }
}

/** Keeps going until everything published has arrived, or the deadline. */
function finished(s: Scenario, received: Received, started: number): boolean {
  if (Date.now() - started > DEADLINE_MS) return true;
  return !s.publishing() && count(received) >= count(s.published());
}

async function pollingClient(s: Scenario): Promise<Received> {
  const received: Received = new Map();
  const started = Date.now();
  let last = s.start;
  while (!finished(s, received, started)) {
    const res = await poll(s.db, s.token, { last_message: last, channels: CHANNELS }, 1);
    if (res.status !== 200) {
      await sleep(20);
      continue;
    }
    expect(res.body.gap).toBeUndefined();
    if (res.body.message) {
      record(received, res.body.channel, res.body.message.message_id);
      last = res.body.message.message_id;
    }
    if (s.rand() < 0.3) await sleep(Math.floor(s.rand() * 20));
  }
  return received;
}

async function socketClient(s: Scenario): Promise<Received> {
  const received: Received = new Map();
  const started = Date.now();
  let last = s.start;
  const open = async (): Promise<TestSocket> => {
    for (;;) {
      const res = await tryConnect(
        `/ws/bus/${s.db}?channels=${CHANNELS.join(",")}&last_message=${last}`,
        s.token,
      );
      if (!(res instanceof Response)) return res;
      await sleep(20);
    }
  };
  let ws: TestSocket = await open();
  while (!finished(s, received, started)) {
    let frame: any;
    try {
      frame = await ws.next((f) => f?.event === "message", "a bus message", 300);
    } catch {
      frame = null;
    }
    if (frame) {
      expect(frame.data.gap).toBeUndefined();
      record(received, frame.data.channel, frame.data.message.message_id);
      last = frame.data.message.message_id;
    }
    if (ws.closed || s.rand() < 0.1) {
      ws.close();
      ws = await open();
    }
  }
  ws.close();
  return received;
}

async function sseClient(s: Scenario): Promise<Received> {
  const received: Received = new Map();
  const started = Date.now();
  let last = s.start;
  const open = async (): Promise<SseReader> => {
    for (;;) {
      const res = await openSse(s.db, s.token, CHANNELS, last);
      if (!(res instanceof Response)) return res;
      await sleep(20);
    }
  };
  let stream = await open();
  let quietRounds = 0;
  while (!finished(s, received, started)) {
    let event: Awaited<ReturnType<SseReader["next"]>> | null;
    try {
      event = await stream.next(300);
      quietRounds = 0;
    } catch {
      event = null;
      quietRounds++;
    }
    if (event) {
      expect(event.data.gap).toBeUndefined();
      expect(event.id).toBe(event.data.message.message_id);
      record(received, event.data.channel, event.data.message.message_id);
      last = event.data.message.message_id;
    }
    // A stream cut off by the reset may stay silent; in production the Worker's watchdog ends it
    // after two missed 15 s heartbeats. The test's client gives up after ~1 s of silence instead.
    if (stream.ended || quietRounds >= 3 || s.rand() < 0.1) {
      await stream.close();
      stream = await open();
    }
  }
  await stream.close();
  return received;
}

describe("bus delivery guarantee (randomized, with an eviction)", () => {
  const seed = Number(Date.now() % 100_000);

  it("long polling with last_message", async () => {
    await run(seed, pollingClient);
  });

  it("WebSocket resume with ?last_message=", async () => {
    await run(seed + 1, socketClient);
  });

  it("SSE resume with Last-Event-ID", async () => {
    await run(seed + 2, sseClient);
  });
});
