// `npm run soak -- --scenarios=bus-2500`: one bus channel with 2,500 WebSocket listeners under
// `wrangler dev`, one publisher on `POST /api/bus/:db/publish` at a fixed rate. Every listener
// must receive every answered publish once, in the namespace's order (message ids only grow),
// and keep its socket. ROOM_SHARD_SOCKETS is set to 1,000 so that, where the bus spreads
// listeners over shards (contract §10), this channel is three of them; without sharding the
// same run measures one object. Usage: node scripts/soak-bus.mjs [--seconds=60] [--rate=2]
import WebSocket from "ws";
import { openSockets } from "../bench/lib/net.mjs";
import { busMessage } from "../bench/lib/targets.mjs";
import {
  ADMIN_TOKEN,
  api,
  devProxyRetries,
  figure,
  heldSeconds,
  inBatches,
  percentile,
  runScenario,
  sleep,
  waitUntil,
} from "./soak-load.mjs";

const SOCKETS = 2_500;
/** One user may hold 100 sockets in one room (MAX_SOCKETS_PER_USER). */
const PER_USER = 100;
const DB = "soak";
const CHANNEL = "soak-bus";
const SHARD_SOCKETS = 1_000;
/** Events per second; 2 × 2,500 = 5,000 deliveries/s, the bench's offered fan-out load. */
const RATE = Number(process.argv.find((a) => a.startsWith("--rate="))?.split("=")[1] ?? 2);
const IN_FLIGHT = 16;
const KEEPALIVE_MS = 20_000;
const DRAIN_MS = 30_000;

function listener() {
  return { count: 0, lastSeq: 0, disorder: 0, latencies: [] };
}

async function scenario(server) {
  const seconds = heldSeconds();
  const run = crypto.randomUUID();
  const setupStarted = performance.now();
  const tokens = await inBatches(
    Array.from({ length: SOCKETS / PER_USER }, (_, i) => i),
    10,
    async (i) =>
      (
        await api(server, "POST", "/api/tokens", {
          user: { id: `soak-bus-${i}`, name: `Listener ${i}` },
          permissions: [`bus.listen:${CHANNEL}`],
          ttl_seconds: 7200,
        })
      ).token,
  );

  const sentAt = [];
  const listeners = Array.from({ length: SOCKETS }, listener);
  const onFrame = (data, index) => {
    const now = performance.now();
    const text = data.toString();
    if (text === "pong") return;
    const frame = JSON.parse(text);
    if (frame.event !== "message") return;
    const l = listeners[index];
    const seq = Number(frame.data.message.message_id.split("-")[1]);
    if (seq <= l.lastSeq) l.disorder++;
    l.lastSeq = seq;
    l.count++;
    const sent = sentAt[frame.data.message.i];
    if (sent !== undefined) l.latencies.push(now - sent);
  };
  const url = (i) =>
    `${server.ws}/ws/bus/${DB}?channels=${CHANNEL}&token=${tokens[Math.floor(i / PER_USER)]}`;
  const sockets = await openSockets(SOCKETS, url, onFrame, 50);
  const closed = sockets.map(() => false);
  sockets.forEach((ws, i) => {
    ws.on("close", () => {
      closed[i] = true;
    });
  });
  const keepalive = setInterval(() => {
    for (const ws of sockets) if (ws.readyState === WebSocket.OPEN) ws.send("ping");
  }, KEEPALIVE_MS);
  figure("bus.setup_seconds", ((performance.now() - setupStarted) / 1000).toFixed(1), "s");

  // Open loop: a tick whose publish finds IN_FLIGHT calls unanswered is skipped and counted.
  let inFlight = 0;
  let skipped = 0;
  let answered = 0;
  const replies = [];
  const refused = [];
  const calls = [];
  const started = performance.now();
  const total = Math.round(RATE * seconds);
  for (let i = 0; i < total; i++) {
    const wait = started + (i * 1000) / RATE - performance.now();
    if (wait > 0) await sleep(wait);
    if (inFlight >= IN_FLIGHT) {
      skipped++;
      continue;
    }
    inFlight++;
    sentAt[i] = performance.now();
    calls.push(
      api(
        server,
        "POST",
        `/api/bus/${DB}/publish`,
        { channel: CHANNEL, message: busMessage(i) },
        { idempotencyKey: `${run}-${i}` },
      )
        .then(() => {
          answered++;
          replies.push(performance.now() - (sentAt[i] ?? 0));
        })
        .catch((err) => refused.push(String(err.message ?? err).slice(0, 200)))
        .finally(() => {
          inFlight--;
        }),
    );
  }
  await Promise.all(calls);
  const held = (performance.now() - started) / 1000;
  await waitUntil(() => listeners.every((l) => l.count >= answered), DRAIN_MS);
  clearInterval(keepalive);

  const rooms = await api(server, "GET", "/api/rooms?kind=bus&limit=200", undefined, {
    expect: 200,
  });
  const channel = await api(server, "GET", `/api/bus/${DB}/channels/${CHANNEL}`, undefined, {
    expect: 200,
    token: ADMIN_TOKEN,
  });
  for (const ws of sockets) ws.close(1000, "done");

  const problems = [...refused];
  listeners.forEach((l, i) => {
    if (l.count !== answered) problems.push(`listener ${i}: ${l.count} of ${answered} messages`);
    if (l.disorder) problems.push(`listener ${i}: ${l.disorder} out of order or twice`);
    if (closed[i]) problems.push(`listener ${i}: socket closed by the server`);
  });
  const delivered = listeners.reduce((n, l) => n + l.count, 0);
  const latencies = listeners.flatMap((l) => l.latencies);
  figure("bus.sockets", SOCKETS);
  figure("bus.shards", Math.max(1, ...rooms.results.map((r) => r.shards)));
  figure("bus.subscribers_reported", channel.subscribers);
  figure("bus.held_seconds", held.toFixed(1), "s");
  figure("bus.publishes_offered", total);
  figure("bus.publishes_skipped_in_flight", skipped);
  figure("bus.publishes_answered_pct", ((100 * answered) / total).toFixed(1), "%");
  figure("bus.reply_p50_ms", percentile(replies, 50).toFixed(1), "ms");
  figure("bus.reply_p99_ms", percentile(replies, 99).toFixed(1), "ms");
  figure("bus.receive_p50_ms", percentile(latencies, 50).toFixed(1), "ms");
  figure("bus.receive_p99_ms", percentile(latencies, 99).toFixed(1), "ms");
  figure("bus.deliveries", delivered);
  figure("bus.deliveries_per_second", Math.round(delivered / held), "/s");
  figure("bus.gaps_or_drops", problems.length - refused.length);
  figure("bus.calls_repeated_after_dev_proxy_503", devProxyRetries.count);
  return problems;
}

await runScenario("bus channel, 2,500 listeners", { ROOM_SHARD_SOCKETS: SHARD_SOCKETS }, scenario);
