// Scenario 2, idle sockets: S idle hibernatable sockets in one room. Per target: resident memory
// of the server process per socket (RSS after connecting minus RSS before, over S), how fast the
// sockets were accepted, and the time from publishing one event until all S have it (the first
// event after the idle period, which may wake the room, is kept apart from a second one).
import { performance } from "node:perf_hooks";
import { sleep } from "../lib/net.mjs";
import { Meter } from "../lib/phase.mjs";
import { rssKiB } from "../lib/proc.mjs";
import { slot } from "../lib/stats.mjs";

async function broadcastOnce(meter, room, name) {
  const p = meter.begin({ capacity: 1 });
  meter.publish(room);
  await meter.drain(30_000).catch((err) => {
    const closed = room.sockets.filter((ws) => ws.readyState !== 1).length;
    throw new Error(`${name}: ${err.message} (${closed} sockets closed)`);
  });
  return p.lastReceive - p.pubTime[0];
}

/** `targets`: [{ target, pid }]; one connect cycle per run, broadcasts inside each cycle. */
export async function idle({ targets, sockets, runs, settleMs, log }) {
  const results = {};
  for (let run = 1; run <= runs; run++) {
    for (const { target, pid } of targets) {
      const f = slot(results, target.name, () => ({
        kibPerSocket: [],
        connectPerS: [],
        firstBroadcastMs: [],
        broadcastMs: [],
      }));
      const meter = new Meter(sockets);
      const before = rssKiB(pid);
      const started = performance.now();
      const room = await target.open(`bench-idle-${run}`, sockets, meter.onFrame, 100);
      const connectMs = performance.now() - started;
      try {
        await sleep(settleMs);
        const after = rssKiB(pid);
        const firstMs = await broadcastOnce(meter, room, target.name);
        const broadcastMs = await broadcastOnce(meter, room, target.name);
        if (room.failures.length) throw new Error(`${target.name}: ${room.failures[0]}`);
        f.kibPerSocket.push((after - before) / sockets);
        f.connectPerS.push((sockets * 1000) / connectMs);
        f.firstBroadcastMs.push(firstMs);
        f.broadcastMs.push(broadcastMs);
        log(
          `  run ${run} ${target.name}: ${((after - before) / sockets).toFixed(1)} KiB/socket, connected at ${Math.round((sockets * 1000) / connectMs)}/s, broadcast to all in ${broadcastMs.toFixed(1)} ms`,
        );
      } finally {
        await room.close();
      }
    }
  }
  return results;
}
