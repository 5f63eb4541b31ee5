// Measures one broadcast phase against an open room: which events were published when, how many
// subscribers received each, and (optionally) each delivery's publish-to-receive latency.
import { performance } from "node:perf_hooks";
import { indexesOfFrame } from "./targets.mjs";

/**
 * Routes frames of a room's subscribers to the phase being measured. Event indexes only grow,
 * so frames of an earlier phase (late deliveries) are recognised and ignored.
 */
export class Meter {
  constructor(subscribers) {
    this.n = subscribers;
    this.nextIndex = 0;
    this.phase = null;
    this.onFrame = (buf) => this.frame(buf);
  }

  begin({ capacity, latency = false, windowEnd = Number.POSITIVE_INFINITY }) {
    const base = this.nextIndex;
    this.nextIndex += capacity;
    this.phase = {
      base,
      capacity,
      published: 0,
      pubTime: new Float64Array(capacity),
      got: new Uint32Array(capacity),
      completed: 0,
      counted: 0,
      windowEnd,
      latencies: latency ? [] : null,
      lastReceive: 0,
      wake: null,
    };
    return this.phase;
  }

  frame(buf) {
    const now = performance.now();
    for (const index of indexesOfFrame(buf)) this.delivery(index, now);
  }

  delivery(index, now) {
    const p = this.phase;
    if (!p) return;
    const k = index - p.base;
    if (k < 0 || k >= p.published) return;
    p.got[k]++;
    p.lastReceive = now;
    if (now <= p.windowEnd) p.counted++;
    if (p.latencies) p.latencies.push(now - p.pubTime[k]);
    if (p.got[k] === this.n) {
      p.completed++;
      const wake = p.wake;
      p.wake = null;
      wake?.();
    }
  }

  /** Publishes the phase's next event through `room.publish`, stamping its time. */
  publish(room) {
    const p = this.phase;
    const k = p.published++;
    p.pubTime[k] = performance.now();
    room.publish(p.base + k);
  }

  /** Publishes the phase's next `count` events in one call (`room.publishBatch`). */
  publishBatch(room, count) {
    const p = this.phase;
    const now = performance.now();
    const indexes = [];
    for (let j = 0; j < count && p.published < p.capacity; j++) {
      const k = p.published++;
      p.pubTime[k] = now;
      indexes.push(p.base + k);
    }
    room.publishBatch(indexes);
  }

  /** Resolves when an event completes (every subscriber has it) or after `ms`. */
  progress(ms) {
    const p = this.phase;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      p.wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  /** Waits (bounded) until every published event reached every subscriber. */
  async drain(timeoutMs = 10_000) {
    const p = this.phase;
    const deadline = performance.now() + timeoutMs;
    while (p.completed < p.published) {
      if (performance.now() > deadline) {
        const missing = p.published * this.n - p.got.reduce((a, b) => a + b, 0);
        throw new Error(`${missing} deliveries missing ${timeoutMs} ms after the last publish`);
      }
      await this.progress(Math.max(1, deadline - performance.now()));
    }
  }
}
