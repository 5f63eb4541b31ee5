import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  ablyPerMillion,
  cloudflarePerMillion,
  latency,
  modelRoom,
  parseArgs,
  pusherPlan,
  render,
  topology,
} from "../../scripts/scale-model.mjs";

/**
 * The formulas of docs/SCALE.md on inputs worked out by hand, so a change to a constant or a
 * formula shows here with the figure it moved.
 */

describe("topology", () => {
  it("a room within ROOM_SHARD_SOCKETS is one object and no RPC", () => {
    expect(topology({ sockets: 10_000, batchesPerS: 1 })).toMatchObject({
      shards: 0,
      relays: 0,
      objects: 1,
      depth: 0,
      fanout: 999,
    });
  });

  it("100 batches/s leave 9 children per object: 1M sockets need two levels of relays", () => {
    // 1,000 RPC/s ÷ 100 batches/s = 10 RPC per batch, one of them the batch coming in.
    // 99 shards → ceil(99/9) = 11 relays → ceil(11/9) = 2 relays → fed by the room.
    expect(topology({ sockets: 1_000_000, batchesPerS: 100 })).toMatchObject({
      shards: 99,
      relays: 13,
      objects: 113,
      depth: 3,
      fanout: 9,
      directSocketsMax: 100_000,
    });
  });

  it("at 1 batch/s the room feeds all 99 shards of 1M sockets itself", () => {
    expect(topology({ sockets: 1_000_000, batchesPerS: 1 })).toMatchObject({
      shards: 99,
      relays: 0,
      depth: 1,
    });
  });

  it("refuses a shard size over the Durable Object socket limit", () => {
    expect(() => topology({ sockets: 1, shardSockets: 40_000, batchesPerS: 1 })).toThrow(/32768/);
  });
});

describe("latency", () => {
  it("reproduces the measured fan-out to 1,000 sockets of one object", () => {
    const tree = topology({ sockets: 1_000, batchesPerS: 1 });
    const l = latency(tree, { batchWindowMs: 10 });
    // 8.9 ms fixed + half of 1,000 / 18,900 s; the bench measured p50 34.46 ms, p99 63.93 ms.
    expect(l.p50Ms).toBeCloseTo(8.9 + 500 / 18.9, 6);
    expect(l.p99Ms).toBeCloseTo(8.9 + 990 / 18.9, 6);
    expect(Math.abs(l.p50Ms - 34.46) / 34.46).toBeLessThan(0.05);
    expect(Math.abs(l.p99Ms - 63.93) / 63.93).toBeLessThan(0.05);
  });

  it("adds one RPC hop per level and the batch window once there are shards", () => {
    const tree = topology({ sockets: 1_000_000, batchesPerS: 100 });
    const l = latency(tree, { batchWindowMs: 10 });
    expect(l.p50Ms).toBeCloseTo(8.9 + 3 * 0.5 + 5 + 5_000 / 18.9, 6);
    expect(l.maxEventsPerS).toBeCloseTo(1.89, 6);
  });
});

describe("cost per million delivered messages", () => {
  it("adds Workers requests and CPU, DO requests, duration and rows written", () => {
    const tree = topology({ sockets: 10_000, batchesPerS: 1 });
    const c = cloudflarePerMillion(tree, { eventsPerS: 1, batchesPerS: 1 });
    // 100 publishes: 100 Worker requests, 100 ms of Worker CPU, 100 room RPCs.
    expect(c.workerRequests).toBeCloseTo((100 * 0.3) / 1e6, 12);
    expect(c.workerCpu).toBeCloseTo((100 * 0.02) / 1e6, 12);
    expect(c.doRequests).toBeCloseTo((100 * 0.15) / 1e6, 12);
    // 1e6 / 18,900 s of sending + 100 × 1 ms of publishes, at 128 MB.
    const busy = 1e6 / 18_900 + 0.1;
    expect(c.busySeconds).toBeCloseTo(busy, 9);
    expect(c.doDuration).toBeCloseTo((busy * 0.128 * 12.5) / 1e6, 12);
    // 100 stored messages, one row each, at $1.00 per million rows.
    expect(c.doRowsWritten).toBeCloseTo(100 / 1e6, 12);
    expect(c.total).toBeCloseTo(0.000_231_816, 9);
  });

  it("counts one RPC per shard and relay per batch", () => {
    const tree = topology({ sockets: 100_000, batchesPerS: 1 });
    const c = cloudflarePerMillion(tree, { eventsPerS: 1, batchesPerS: 1 });
    // 10 publishes, each one room RPC and 9 shard RPCs.
    expect(c.doRequestCount).toBe(100);
  });

  it("prices Ably per message, publish included, and Pusher by the plan that holds the room", () => {
    expect(ablyPerMillion(10_000)).toBeCloseTo(2.50025, 9);
    expect(pusherPlan(10_000)).toMatchObject({ name: "Premium", usd: 499 });
    expect(pusherPlan(10_000)?.perMillion).toBeCloseTo(499 / 600, 9);
    expect(pusherPlan(100_000)).toBeNull();
  });

  it("bills keepalive pings at 20 to one request when asked to", () => {
    const options = { ...parseArgs(["--pings-per-min=3"]), sockets: [] };
    const room = modelRoom(1_000_000, options);
    // 3 pings × 43,200 minutes × 1M sockets ÷ 20 × $0.15 per million requests.
    expect(room.month.cloudflareKeepalive).toBeCloseTo(972, 6);
  });
});

describe("npm run scale-model", () => {
  it("prints the tables for 10k, 100k and 1M sockets", () => {
    const text = execFileSync(process.execPath, ["scripts/scale-model.mjs"], {
      encoding: "utf8",
    });
    expect(text).toContain("| 1,000,000 | 100 (1 + 99 + 0) | 1 |");
    expect(text).toBe(`${render(parseArgs([])).text}\n`);
  });

  it("refuses an unknown option with the list of known ones", () => {
    expect(() => parseArgs(["--socket=5"])).toThrow(/--sockets/);
  });
});
