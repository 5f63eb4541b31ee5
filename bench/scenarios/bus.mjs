// Scenario 4, the bus. (a) Long-poll latency: P pollers parked on C channels, a publisher
// publishing round-robin at a steady rate; each answer's latency is measured from the start of
// its publish call, and every poller polls again at once with the `message_id` it got.
// (b) Durable throughput: messages per second through one channel, publisher on HTTP with a
// bounded number of calls in flight, one WebSocket subscriber, every message stored first.
import { setMaxListeners } from "node:events";
import { performance } from "node:perf_hooks";
import { request, requestRetrying, sleep } from "../lib/net.mjs";
import { Meter } from "../lib/phase.mjs";
import { ADMIN_TOKEN } from "../lib/servers.mjs";
import { percentile, slot, sortNumbers } from "../lib/stats.mjs";
import { busMessage, peerFrame, subscriberTokens } from "../lib/targets.mjs";
import { throughputPhase } from "./fanout.mjs";

/** Switchboard's Tryton long poll `POST /:db/bus`, publisher on `POST /api/bus/:db/publish`. */
export function oursPolling(ours, db) {
  // One user per poller, as in a real app: each polls again after every answer.
  const tokens = subscriberTokens(ours, ["bus.listen:bench-*"], 1);
  let tokenOf;
  return {
    name: "ours",
    reliable: true,
    async prepare(pollers) {
      tokenOf = await tokens(pollers);
    },
    async poll(channel, last, signal, poller) {
      const res = await request("POST", `${ours.url}/${db}/bus?timeout=30`, {
        token: tokenOf(poller),
        signal,
        body: { last_message: last, channels: [channel] },
      });
      // A Tryton client polls again after a failed call with the same cursor; counted, not fatal.
      if (res.status === 502 || res.status === 503) return { failed: res.status };
      if (res.status !== 200) throw new Error(`POST /${db}/bus: ${res.status} ${res.text}`);
      const { message } = res.json;
      return message ? { id: message.message_id, i: message.i ?? -1 } : null;
    },
    async publish(channel, i) {
      const res = await requestRetrying("POST", `${ours.url}/api/bus/${db}/publish`, {
        token: ADMIN_TOKEN,
        body: { channel, message: busMessage(i) },
      });
      if (res.status !== 201) throw new Error(`publish: ${res.status} ${res.text}`);
    },
  };
}

/** A peer's in-memory long poll: no cursor, a poll only sees what is published while parked. */
function peerPolling(name, base) {
  return {
    name,
    reliable: false,
    async prepare() {},
    async poll(channel, _last, signal) {
      const res = await request("POST", `${base}/poll?channel=${channel}`, { signal });
      return { id: null, i: res.json?.data?.i ?? -1 };
    },
    async publish(channel, i) {
      const res = await request("POST", `${base}/publish?channel=${channel}`, {
        body: JSON.parse(peerFrame(i)),
      });
      if (res.status !== 201) throw new Error(`publish: ${res.status} ${res.text}`);
    },
  };
}

export function peerPollings(servers) {
  return [
    peerPolling("bare DO", `${servers.peers.url}/bare/bench-poll`),
    peerPolling("Node ws", servers.node.url),
  ];
}

async function pollLatency(target, { channels, pollers, durationMs, intervalMs, warmupMs }, run) {
  await target.prepare(pollers);
  const names = Array.from({ length: channels }, (_, c) => `bench-poll-${run}-${c}`);
  const count = Math.ceil(durationMs / intervalMs);
  const pubTime = new Float64Array(count);
  const got = new Uint16Array(count);
  const latencies = [];
  const errors = [];
  const abort = new AbortController();
  setMaxListeners(pollers + 10, abort.signal);
  const perChannel = pollers / channels;
  const answered = new Uint8Array(pollers);
  let failed = 0;
  const loops = Array.from({ length: pollers }, async (_, p) => {
    let last = null;
    while (!abort.signal.aborted) {
      try {
        const answer = await target.poll(names[p % channels], last, abort.signal, p);
        if (!answer) continue;
        if (answer.failed) {
          failed++;
          continue;
        }
        last = answer.id;
        answered[p] = 1;
        const { i } = answer;
        if (i < 0 || i >= count || !pubTime[i]) continue;
        got[i]++;
        if (pubTime[i] - pubTime[0] >= warmupMs) latencies.push(performance.now() - pubTime[i]);
      } catch (err) {
        if (!abort.signal.aborted) errors.push(String(err));
        return;
      }
    }
  });
  // A first poll (null cursor) waits for what is published after it parked: prime every channel
  // until each poller got an answer, so all hold a cursor (or, for peers, are parked) from here on.
  const primeUntil = performance.now() + 15_000;
  while (answered.includes(0) && !errors.length) {
    if (performance.now() > primeUntil) throw new Error(`${target.name}: pollers did not start`);
    await Promise.all(names.map((name) => target.publish(name, -1)));
    await sleep(200);
  }
  const start = performance.now();
  const publishes = [];
  for (let i = 0; i < count; i++) {
    const wait = start + i * intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    pubTime[i] = performance.now();
    publishes.push(target.publish(names[i % channels], i).catch((err) => errors.push(String(err))));
  }
  await Promise.all(publishes);
  const deadline = performance.now() + (target.reliable ? 10_000 : 1_000);
  while (performance.now() < deadline && got.some((g) => g < perChannel)) await sleep(20);
  abort.abort();
  await Promise.allSettled(loops);
  if (errors.length) throw new Error(`${target.name} long poll: ${errors[0]}`);
  const missing = got.reduce((sum, g) => sum + Math.max(0, perChannel - g), 0);
  if (target.reliable && missing) throw new Error(`${target.name}: ${missing} answers missing`);
  const sorted = sortNumbers(latencies);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    samples: sorted.length,
    missing,
    failed,
  };
}

export async function busLatency({ targets, runs, options, log }) {
  const results = {};
  for (let run = 1; run <= runs; run++) {
    for (const target of targets) {
      const r = await pollLatency(target, options, run);
      const f = slot(results, target.name, () => ({ p50: [], p99: [], missed: [], failed: [] }));
      f.p50.push(r.p50);
      f.p99.push(r.p99);
      f.missed.push(r.missing);
      f.failed.push(r.failed);
      log(
        `  run ${run} ${target.name}: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms over ${r.samples} answers${r.missing ? `, ${r.missing} missed (no cursor)` : ""}${r.failed ? `, ${r.failed} polls failed and were repeated` : ""}`,
      );
    }
  }
  return results;
}

/** Messages per second through one channel, one subscriber, `inFlight` publish calls at a time. */
export async function busThroughput({ targets, runs, durationMs, inFlight, log }) {
  const results = {};
  const rooms = [];
  for (const target of targets) {
    const meter = new Meter(1);
    rooms.push({ target, meter, room: await target.open("bench-durable", 1, meter.onFrame) });
  }
  try {
    for (const { meter, room } of rooms)
      await throughputPhase(meter, room, durationMs / 2, inFlight);
    for (let run = 1; run <= runs; run++) {
      for (const { target, meter, room } of rooms) {
        const rate = await throughputPhase(meter, room, durationMs, inFlight);
        if (room.failures.length) throw new Error(`${target.name}: ${room.failures[0]}`);
        slot(results, target.name, () => []).push(rate);
        log(`  run ${run} ${target.name}: ${Math.round(rate)} messages/s`);
      }
    }
  } finally {
    for (const { room } of rooms) await room.close();
  }
  return results;
}
