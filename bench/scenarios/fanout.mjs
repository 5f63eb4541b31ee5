// Scenario 1, room fan-out: one publisher, N subscribers in one room, 200-byte events.
// Per target and run: p50/p99 publish-to-receive latency at a fixed offered load, then the
// saturated deliveries per second with a bounded number of events in flight.
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { sleep } from "../lib/net.mjs";
import { Meter } from "../lib/phase.mjs";
import { percentile, sortNumbers } from "../lib/stats.mjs";

/** Offered load for the latency phase (the toolchain floor table was measured at 5,000/s). */
const OFFERED_DELIVERIES_PER_S = 5_000;

async function latencyPhase(meter, room, durationMs) {
  const rate = OFFERED_DELIVERIES_PER_S / meter.n;
  const count = Math.max(5, Math.round((rate * durationMs) / 1000));
  const p = meter.begin({ capacity: count, latency: true });
  const start = performance.now();
  for (let k = 0; k < count; k++) {
    const due = start + (k * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    meter.publish(room);
  }
  await meter.drain().catch((err) => {
    throw new Error(
      `${err.message}${lost(room)}${room.failures.length ? `; ${room.failures[0]}` : ""}`,
    );
  });
  const sorted = sortNumbers(p.latencies);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), samples: sorted.length };
}

/** Names sockets the server dropped (e.g. `wrangler dev` restarting on a file change). */
function lost(room) {
  const closed = room.sockets.filter((ws) => ws.readyState !== WebSocket.OPEN).length;
  return closed ? `; ${closed} subscriber sockets were closed by the server` : "";
}

/**
 * Saturated deliveries per second: by default enough events in flight for ~2,000 frames. A room
 * that publishes in batches (ours: `room.batch` events per call) keeps two calls in flight.
 */
export async function throughputPhase(
  meter,
  room,
  durationMs,
  inFlight = Math.max(2, Math.ceil(2_000 / meter.n)),
) {
  const batch = room.publishBatch ? room.batch : 1;
  const limit = batch > 1 ? Math.max(inFlight, 2 * batch) : inFlight;
  const start = performance.now();
  const end = start + durationMs;
  const p = meter.begin({ capacity: 200_000, windowEnd: end });
  while (performance.now() < end && p.published < p.capacity) {
    if (p.published - p.completed + batch <= limit) {
      if (batch > 1) meter.publishBatch(room, batch);
      else meter.publish(room);
      continue;
    }
    if (!(await meter.progress(10_000))) throw new Error(`fan-out stalled for 10 s${lost(room)}`);
  }
  await meter.drain().catch((err) => {
    throw new Error(
      `${err.message}${lost(room)}${room.failures.length ? `; ${room.failures[0]}` : ""}`,
    );
  });
  return (p.counted * 1000) / durationMs;
}

export async function fanout({ targets, sizes, runs, phaseMs, log }) {
  const results = {};
  for (const n of sizes) {
    const rooms = [];
    for (const [index, target] of targets.entries()) {
      const meter = new Meter(n);
      const started = performance.now();
      const room = await target.open(`bench-fanout-${n}-${index}`, n, meter.onFrame, 64);
      log(
        `  ${target.name}: ${n} subscribers connected in ${Math.round(performance.now() - started)} ms`,
      );
      rooms.push({ target, meter, room });
    }
    try {
      for (const { target, meter, room } of rooms) {
        await throughputPhase(meter, room, phaseMs / 2).catch((err) => {
          throw new Error(`${target.name} warm-up: ${err.message}`);
        });
      }
      const figures = new Map(
        rooms.map((r) => [r.target.name, { deliveries: [], p50: [], p99: [] }]),
      );
      for (let run = 1; run <= runs; run++) {
        for (const { target, meter, room } of rooms) {
          const f = figures.get(target.name);
          const named = (err) => {
            throw new Error(`${target.name} run ${run}: ${err.message}`);
          };
          const latency = await latencyPhase(meter, room, phaseMs).catch(named);
          const deliveries = await throughputPhase(meter, room, phaseMs).catch(named);
          if (room.failures.length) throw new Error(`${target.name}: ${room.failures[0]}`);
          f.p50.push(latency.p50);
          f.p99.push(latency.p99);
          f.deliveries.push(deliveries);
          log(
            `  run ${run} N=${n} ${target.name}: ${Math.round(deliveries)} deliveries/s, p50 ${latency.p50.toFixed(2)} ms, p99 ${latency.p99.toFixed(2)} ms`,
          );
        }
      }
      results[n] = Object.fromEntries(figures);
    } finally {
      for (const { room } of rooms) await room.close();
    }
  }
  return results;
}
