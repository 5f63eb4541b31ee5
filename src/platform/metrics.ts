import { logger } from "./log";

/**
 * The server's one writer of Workers Analytics Engine points (the `METRICS` dataset). Every
 * point has the same layout, so one SQL shape reads them all (docs/OPERATIONS.md):
 *
 * | column  | holds                                                                  |
 * | ------- | ---------------------------------------------------------------------- |
 * | index1  | the metric's name (the sampling key)                                   |
 * | blob1   | the metric's name                                                      |
 * | blob2   | its scope: the room kind, or the webhook event type                    |
 * | blob3   | its detail: the refusal status, the attempt's outcome                  |
 * | double1 | how many (1 per socket or attempt; sockets reached by a publish)       |
 * | double2 | milliseconds: an attempt's latency, the outbox's lag                   |
 *
 * Scopes are kinds and event types, never room ids or users: the dataset stays small and holds
 * nothing private.
 */
export type Metric =
  /** One event published by a room (for the bus: one message); `deliveries`: sockets, polls and streams it reached. */
  | { name: "room.publish"; kind: string; deliveries: number }
  | { name: "socket.opened" | "socket.closed"; kind: string }
  /** A client frame refused (400, 401, 403, 413, 429, 500). */
  | { name: "frame.refused"; kind: string; status: number }
  /** One webhook attempt and how it ended: `succeeded`, `retrying`, `failed`. */
  | { name: "webhook.attempt"; eventType: string; outcome: string; durationMs: number }
  /** The cron scan: deliveries found overdue, and how late the oldest was. */
  | { name: "outbox.lag"; overdue: number; lagMs: number };

interface Point {
  scope: string;
  detail: string;
  count: number;
  ms: number;
}

function pointOf(metric: Metric): Point {
  switch (metric.name) {
    case "room.publish":
      return { scope: metric.kind, detail: "", count: metric.deliveries, ms: 0 };
    case "socket.opened":
    case "socket.closed":
      return { scope: metric.kind, detail: "", count: 1, ms: 0 };
    case "frame.refused":
      return { scope: metric.kind, detail: String(metric.status), count: 1, ms: 0 };
    case "webhook.attempt":
      return { scope: metric.eventType, detail: metric.outcome, count: 1, ms: metric.durationMs };
    case "outbox.lag":
      return { scope: "", detail: "", count: metric.overdue, ms: metric.lagMs };
  }
}

/**
 * Writes one point. Writing is fire-and-forget in the runtime; a missing binding (a test env, a
 * deployment without the dataset) or a throwing one costs the point, never the work it measures.
 */
export function record(env: { METRICS?: AnalyticsEngineDataset }, metric: Metric): void {
  const dataset = env.METRICS;
  if (!dataset) return;
  const { scope, detail, count, ms } = pointOf(metric);
  try {
    dataset.writeDataPoint({
      indexes: [metric.name],
      blobs: [metric.name, scope, detail],
      doubles: [count, ms],
    });
  } catch (err) {
    logger.warn("A metric point could not be written", {
      event: "metrics.write_failed",
      error: err,
    });
  }
}
