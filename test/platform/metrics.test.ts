import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { busStub } from "../../src/features/bus/bus-channel";
import { scanUndelivered } from "../../src/features/webhooks/scan";
import { record } from "../../src/platform/metrics";
import { publish } from "../helpers/bus";
import { tokenFor } from "../helpers/http";
import {
  captureFetch,
  consume,
  emit,
  freshEventType,
  subscribe,
  testEnv,
  uid,
} from "../helpers/webhooks";
import { connect } from "../helpers/ws";

/**
 * Local workerd accepts the Analytics Engine binding but keeps nothing it is given, so these
 * tests hand the code a dataset that records its points through the env (the Worker's env for
 * the consumer and the scan; the room's own env inside the Durable Object).
 */
function recordingDataset() {
  const points: AnalyticsEngineDataPoint[] = [];
  const dataset: AnalyticsEngineDataset = {
    writeDataPoint: (point) => {
      if (point) points.push(point);
    },
  };
  const named = (name: string) => points.filter((p) => p.indexes?.[0] === name);
  return { dataset, points, named };
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("metric points", () => {
  it("share one layout: index and blob1 the name, blob2 the scope, blob3 the detail, doubles count and ms", () => {
    const { dataset, points } = recordingDataset();
    record({ METRICS: dataset }, { name: "frame.refused", kind: "poker", status: 429 });
    record(
      { METRICS: dataset },
      { name: "webhook.attempt", eventType: "a.b", outcome: "retrying", durationMs: 42 },
    );
    expect(points).toEqual([
      { indexes: ["frame.refused"], blobs: ["frame.refused", "poker", "429"], doubles: [1, 0] },
      {
        indexes: ["webhook.attempt"],
        blobs: ["webhook.attempt", "a.b", "retrying"],
        doubles: [1, 42],
      },
    ]);
  });

  it("cost nothing but the point when the binding is missing or throws", () => {
    expect(() => record({}, { name: "socket.opened", kind: "bus" })).not.toThrow();
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const broken: AnalyticsEngineDataset = {
      writeDataPoint: () => {
        throw new Error("dataset down");
      },
    };
    expect(() => record({ METRICS: broken }, { name: "socket.opened", kind: "bus" })).not.toThrow();
  });

  it("a room writes sockets opened and closed, publishes with their deliveries, and refused frames", async () => {
    const db = `metrics-${uid()}`;
    const stub = busStub(env, db);
    const { dataset, named } = recordingDataset();
    // The room's env is its own object: give it the recording dataset before any socket comes.
    await runInDurableObject(stub, (room) => {
      const own = room as unknown as { env: Env };
      own.env = { ...own.env, METRICS: dataset };
    });
    const token = await tokenFor(`metrics-${uid()}`, ["bus.listen:orders.*"]);
    const ws = await connect(`/ws/bus/${db}?channels=orders.eu`, token);
    await publish(db, "orders.eu", { type: "created" });
    await ws.event("message");
    ws.send("not json");
    await ws.event("error");
    ws.close();
    await vi.waitFor(() => expect(named("socket.closed")).toHaveLength(1), { timeout: 5_000 });

    expect(named("socket.opened")).toEqual([
      { indexes: ["socket.opened"], blobs: ["socket.opened", "bus", ""], doubles: [1, 0] },
    ]);
    expect(named("room.publish")).toEqual([
      { indexes: ["room.publish"], blobs: ["room.publish", "bus", ""], doubles: [1, 0] },
    ]);
    expect(named("frame.refused")).toEqual([
      { indexes: ["frame.refused"], blobs: ["frame.refused", "bus", "400"], doubles: [1, 0] },
    ]);
  });

  it("the consumer writes each webhook attempt with its outcome and latency", async () => {
    captureFetch();
    const type = await freshEventType();
    await subscribe({ event_type: type, target_url: `https://example.com/${uid()}` });
    const { dataset, named } = recordingDataset();
    const t = testEnv({ METRICS: dataset });
    await emit(t.env, type, { n: 1 });
    await consume(t.env, t.sent[0]!.body.delivery_id);
    const [point] = named("webhook.attempt");
    expect(point?.blobs).toEqual(["webhook.attempt", type, "succeeded"]);
    expect(point?.doubles?.[0]).toBe(1);
    expect(point?.doubles?.[1]).toBeGreaterThanOrEqual(0);
  });

  it("the cron scan writes the outbox's lag: how late the oldest overdue delivery is", async () => {
    const type = await freshEventType();
    await subscribe({ event_type: type, target_url: `https://example.com/${uid()}` });
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const lost = testEnv({
      WEBHOOK_QUEUE: {
        sendBatch: async () => {
          throw new Error("queue down");
        },
      } as unknown as Queue,
    });
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    await emit(lost.env, type, { lost: true });
    vi.setSystemTime(Date.now() + 90_000);
    const { dataset, named } = recordingDataset();
    expect(await scanUndelivered(testEnv({ METRICS: dataset }).env)).toBeGreaterThanOrEqual(1);
    const [lag] = named("outbox.lag");
    expect(lag?.doubles?.[0]).toBeGreaterThanOrEqual(1);
    expect(lag?.doubles?.[1]).toBeGreaterThanOrEqual(90_000);
  });
});
