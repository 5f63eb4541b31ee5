// `npm run scale-model`: the capacity and cost model of docs/SCALE.md for one room of 10k, 100k
// and 1M sockets. Pure functions (tested in test/node/scale-model.test.ts) and a printer; every
// constant is either a measurement of this repo (bench/README.md, docs/SCALE.md) or a list price
// with its source, so a new measurement or price changes one line here and the document's table.
import { pathToFileURL } from "node:url";

/** Figures measured on this repo's 2-core machines; docs/SCALE.md says where each comes from. */
export const MEASURED = {
  /** Frames one room object sends per second: fanout_n1000_throughput median (bench, e395f65). */
  deliveriesPerObjectPerS: 18_900,
  /** Publish-to-receive without the send loop: fanout_n100_p50 (11.52 ms) minus its half loop. */
  publishFixedMs: 8.9,
  /** One Durable Object → Durable Object RPC carrying a batch of 1,000 × 200-byte frames. */
  rpcHopMs: 0.5,
  /** Time the room spends on one publish (CPU profile: 0.7–0.9 ms per publish). */
  publishBusyMs: 1,
};

/** Platform limits and the design budget of the brief. */
export const LIMITS = {
  /** Hibernatable WebSockets one Durable Object may hold. */
  maxSocketsPerObject: 32_768,
  /** Default ROOM_SHARD_SOCKETS (contract §10). */
  shardSockets: 10_000,
  /** Requests per second one object handles (Cloudflare's documented soft limit per object). */
  rpcPerObjectPerS: 1_000,
  /** Memory billed per active Durable Object, GB (128 MB). */
  objectGb: 0.128,
};

/** List prices, USD, read 2026-12-07; docs/SCALE.md cites each page. */
export const PRICES = {
  workerRequestPerM: 0.3,
  workerCpuMsPerM: 0.02,
  workerCpuMsPerPublish: 1,
  doRequestPerM: 0.15,
  doGbSecondPerM: 12.5,
  /** SQLite rows written (Durable Object storage, billed like D1 since January 2026). */
  doRowWrittenPerM: 1,
  /** A bus publish stores its message: one row. */
  rowsWrittenPerPublish: 1,
  /** Incoming WebSocket messages are billed as requests at 20:1; outgoing ones are not billed. */
  doIncomingWsPerRequest: 20,
  ablyMessagePerM: 2.5,
  ablyConnectionMinutePerM: 1,
  /** Pusher Channels plans: monthly price, messages per day, concurrent connections. */
  pusherPlans: [
    { name: "Startup", usd: 49, perDay: 1_000_000, connections: 500 },
    { name: "Pro", usd: 99, perDay: 4_000_000, connections: 2_000 },
    { name: "Business", usd: 299, perDay: 10_000_000, connections: 5_000 },
    { name: "Premium", usd: 499, perDay: 20_000_000, connections: 10_000 },
    { name: "Growth", usd: 699, perDay: 40_000_000, connections: 15_000 },
    { name: "Plus", usd: 899, perDay: 60_000_000, connections: 20_000 },
    { name: "Growth Plus", usd: 1_199, perDay: 90_000_000, connections: 30_000 },
  ],
};

const SECONDS_PER_MONTH = 30 * 86_400;

/**
 * Objects and RPC tree of one room. The room object holds the first `shardSockets` sockets and
 * each shard as many again (contract §10: past that many, new sockets go to another shard). The
 * room sends one RPC per batch to each child; an object that receives `batchesPerS` batches and
 * sends them on to c children handles batchesPerS·(1 + c) RPC/s, so with a budget of
 * `rpcPerObjectPerS` it feeds at most rpcPerObjectPerS / batchesPerS − 1 children. Past that the
 * room feeds relay objects, each of which feeds as many shards: one more level per factor.
 */
export function topology({
  sockets,
  shardSockets = LIMITS.shardSockets,
  batchesPerS,
  rpcPerObjectPerS = LIMITS.rpcPerObjectPerS,
}) {
  if (shardSockets > LIMITS.maxSocketsPerObject) {
    throw new RangeError(`shardSockets ${shardSockets} is over ${LIMITS.maxSocketsPerObject}`);
  }
  const socketObjects = Math.max(1, Math.ceil(sockets / shardSockets));
  const shards = socketObjects - 1;
  const fanout = Math.floor(rpcPerObjectPerS / batchesPerS) - 1;
  if (shards > 0 && fanout < 2) {
    throw new RangeError(`${batchesPerS} batches/s leaves no RPC budget for a tree`);
  }
  let relays = 0;
  let depth = shards > 0 ? 1 : 0;
  for (let level = shards; level > fanout; depth++) {
    level = Math.ceil(level / fanout);
    relays += level;
  }
  return {
    sockets,
    shardSockets,
    shards,
    relays,
    objects: 1 + shards + relays,
    depth,
    fanout,
    directSocketsMax: shardSockets * (1 + fanout),
  };
}

/**
 * Publish-to-receive in ms. A socket object writes its sockets one after the other at
 * `deliveriesPerObjectPerS`; a socket waits for the fixed publish path, one RPC per level, the
 * room's batch window when there are shards (half on average), and its place in the send loop.
 * Shards are separate objects and send in parallel.
 */
export function latency(
  { shards, depth, shardSockets, sockets },
  {
    batchWindowMs,
    deliveriesPerObjectPerS = MEASURED.deliveriesPerObjectPerS,
    publishFixedMs = MEASURED.publishFixedMs,
    rpcHopMs = MEASURED.rpcHopMs,
  },
) {
  const perObject = Math.min(sockets, shardSockets);
  const loopMs = (perObject / deliveriesPerObjectPerS) * 1000;
  const window = shards > 0 ? batchWindowMs : 0;
  const hops = depth * rpcHopMs;
  return {
    p50Ms: publishFixedMs + hops + window / 2 + loopMs * 0.5,
    p99Ms: publishFixedMs + hops + window + loopMs * 0.99,
    lastMs: publishFixedMs + hops + window + loopMs,
    /** Events per second a socket object can send before its send loop never rests. */
    maxEventsPerS: deliveriesPerObjectPerS / perObject,
  };
}

/**
 * Cloudflare's bill per million delivered messages for a room of `sockets` where each event
 * reaches every socket: one Worker request and one room RPC per publish, one RPC per child per
 * batch, and Durable Object duration while objects send (1/deliveriesPerObjectPerS s per frame),
 * take a publish, or take an RPC, and the row each publish stores. Outgoing WebSocket messages
 * are not billed.
 */
export function cloudflarePerMillion(
  tree,
  {
    eventsPerS,
    batchesPerS,
    deliveriesPerObjectPerS = MEASURED.deliveriesPerObjectPerS,
    rpcHopMs = MEASURED.rpcHopMs,
    publishBusyMs = MEASURED.publishBusyMs,
  },
) {
  const events = 1e6 / tree.sockets;
  const rpcsPerEvent = (tree.shards + tree.relays) * (batchesPerS / eventsPerS);
  const doRequests = events * (1 + rpcsPerEvent);
  const busySeconds =
    1e6 / deliveriesPerObjectPerS + (events * (publishBusyMs + rpcsPerEvent * rpcHopMs)) / 1000;
  const parts = {
    workerRequests: (events * PRICES.workerRequestPerM) / 1e6,
    workerCpu: (events * PRICES.workerCpuMsPerPublish * PRICES.workerCpuMsPerM) / 1e6,
    doRequests: (doRequests * PRICES.doRequestPerM) / 1e6,
    doDuration: (busySeconds * LIMITS.objectGb * PRICES.doGbSecondPerM) / 1e6,
    doRowsWritten: (events * PRICES.rowsWrittenPerPublish * PRICES.doRowWrittenPerM) / 1e6,
  };
  const total = Object.values(parts).reduce((a, b) => a + b, 0);
  return { ...parts, total, doRequestCount: doRequests, busySeconds };
}

/** Ably counts the publish and each delivery as one message each. */
export function ablyPerMillion(sockets) {
  return ((1e6 + 1e6 / sockets) * PRICES.ablyMessagePerM) / 1e6;
}

/**
 * The cheapest Pusher plan whose connection cap holds the room, and its price per million
 * messages when its whole daily quota is used (publish + deliveries all count); null above the
 * largest listed plan (Enterprise has no list price).
 */
export function pusherPlan(sockets) {
  const plan = PRICES.pusherPlans.find((p) => p.connections >= sockets);
  if (!plan) return null;
  return { ...plan, perMillion: plan.usd / ((plan.perDay * 30) / 1e6) };
}

/**
 * One month of a room with `sockets` connected all month and `eventsPerS` events on average.
 * `pingsPerSocketPerMin` is the keepalive traffic billed as incoming messages (0 when the
 * runtime's auto-response is not billed; the SDK sends one `ping` every 20 s, i.e. 3).
 */
export function month(tree, options) {
  const { eventsPerS, pingsPerSocketPerMin = 0 } = options;
  const deliveries = eventsPerS * tree.sockets * SECONDS_PER_MONTH;
  const perM = cloudflarePerMillion(tree, options).total;
  const pings = tree.sockets * pingsPerSocketPerMin * (SECONDS_PER_MONTH / 60);
  const keepalive = (pings / PRICES.doIncomingWsPerRequest / 1e6) * PRICES.doRequestPerM;
  const connectionMinutes = tree.sockets * (SECONDS_PER_MONTH / 60);
  const pusher = pusherPlan(tree.sockets);
  const pusherFits = pusher ? deliveries / 30 <= pusher.perDay : false;
  return {
    deliveries,
    cloudflare: (deliveries / 1e6) * perM + keepalive,
    cloudflareKeepalive: keepalive,
    ably:
      (deliveries / 1e6) * ablyPerMillion(tree.sockets) +
      (connectionMinutes / 1e6) * PRICES.ablyConnectionMinutePerM,
    pusher: pusher && pusherFits ? pusher.usd : null,
  };
}

/** Every figure of one row of the table. */
export function modelRoom(sockets, options) {
  const batchesPerS = Math.min(options.eventsPerS, 1000 / options.batchWindowMs);
  const opts = { ...options, batchesPerS };
  const tree = topology({ ...opts, sockets });
  return {
    tree,
    latency: latency(tree, opts),
    cloudflare: cloudflarePerMillion(tree, opts),
    ably: ablyPerMillion(sockets),
    pusher: pusherPlan(sockets),
    month: month(tree, opts),
  };
}

export const DEFAULTS = {
  sockets: [10_000, 100_000, 1_000_000],
  shardSockets: LIMITS.shardSockets,
  eventsPerS: 1,
  batchWindowMs: 10,
  rpcPerObjectPerS: LIMITS.rpcPerObjectPerS,
  deliveriesPerObjectPerS: MEASURED.deliveriesPerObjectPerS,
  rpcHopMs: MEASURED.rpcHopMs,
  publishFixedMs: MEASURED.publishFixedMs,
  pingsPerSocketPerMin: 0,
};

const FLAGS = {
  "--sockets": (v) => ({ sockets: v.split(",").map(Number) }),
  "--shard-sockets": (v) => ({ shardSockets: Number(v) }),
  "--events-per-s": (v) => ({ eventsPerS: Number(v) }),
  "--batch-window-ms": (v) => ({ batchWindowMs: Number(v) }),
  "--rpc-per-s": (v) => ({ rpcPerObjectPerS: Number(v) }),
  "--deliveries-per-s": (v) => ({ deliveriesPerObjectPerS: Number(v) }),
  "--hop-ms": (v) => ({ rpcHopMs: Number(v) }),
  "--publish-ms": (v) => ({ publishFixedMs: Number(v) }),
  "--pings-per-min": (v) => ({ pingsPerSocketPerMin: Number(v) }),
};

export function parseArgs(argv) {
  const options = { ...DEFAULTS };
  for (const arg of argv) {
    if (arg === "--json") {
      options.json = true;
      continue;
    }
    const [flag, value] = arg.split("=");
    const parse = FLAGS[flag];
    if (!parse || value === undefined) {
      throw new Error(`unknown option ${arg}; known: ${Object.keys(FLAGS).join(", ")}, --json`);
    }
    Object.assign(options, parse(value));
  }
  return options;
}

const int = (n) => Math.round(n).toLocaleString("en-US");
const ms = (n) => (n < 100 ? n.toFixed(1) : int(n));
const usd = (n) => {
  if (n === 0) return "$0";
  if (n >= 1000) return `$${int(n)}`;
  return n < 0.01 ? `$${n.toPrecision(2)}` : `$${n.toFixed(2)}`;
};

/** Share of each second a socket object spends sending; past 100 % the room falls behind. */
const busy = (share) => `${Math.round(share * 100)} %${share > 1 ? " (saturated)" : ""}`;

function table(header, rows) {
  const lines = [header, header.map(() => "---"), ...rows];
  return lines.map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

export function render(options) {
  const rooms = options.sockets.map((n) => modelRoom(n, options));
  const out = [];
  out.push(
    `Inputs: ${options.eventsPerS} event/s per room, batch window ${options.batchWindowMs} ms, ` +
      `ROOM_SHARD_SOCKETS ${int(options.shardSockets)}, ${int(options.rpcPerObjectPerS)} RPC/s per object, ` +
      `${int(options.deliveriesPerObjectPerS)} frames/s per object, RPC hop ${options.rpcHopMs} ms, ` +
      `fixed publish path ${options.publishFixedMs} ms.`,
    "",
    table(
      [
        "sockets",
        "objects (room + shards + relays)",
        "RPC depth",
        "children per object",
        "p50 ms",
        "p99 ms",
        "last socket ms",
        "max events/s per room",
        "send loop busy",
      ],
      rooms.map(({ tree, latency: l }) => [
        int(tree.sockets),
        `${int(tree.objects)} (1 + ${int(tree.shards)} + ${int(tree.relays)})`,
        String(tree.depth),
        int(tree.fanout),
        ms(l.p50Ms),
        ms(l.p99Ms),
        ms(l.lastMs),
        l.maxEventsPerS.toFixed(2),
        busy(options.eventsPerS / l.maxEventsPerS),
      ]),
    ),
    "",
    "Cost per million delivered messages (USD, list prices, free allowances left out):",
    "",
    table(
      [
        "sockets",
        "Workers req + CPU",
        "DO requests",
        "DO duration",
        "DO rows written",
        "Cloudflare total",
        "Ably",
        "Pusher (plan at full quota)",
      ],
      rooms.map(({ tree, cloudflare: c, ably, pusher }) => [
        int(tree.sockets),
        usd(c.workerRequests + c.workerCpu),
        usd(c.doRequests),
        usd(c.doDuration),
        usd(c.doRowsWritten),
        usd(c.total),
        usd(ably),
        pusher ? `${usd(pusher.perMillion)} (${pusher.name})` : "no list price (Enterprise)",
      ]),
    ),
    "",
    `One month at ${options.eventsPerS} event/s, every socket connected all month ` +
      `(keepalive pings billed: ${options.pingsPerSocketPerMin}/socket/min):`,
    "",
    table(
      ["sockets", "deliveries", "Cloudflare", "of which keepalive", "Ably", "Pusher"],
      rooms.map(({ tree, month: m }) => [
        int(tree.sockets),
        int(m.deliveries),
        usd(m.cloudflare),
        usd(m.cloudflareKeepalive),
        usd(m.ably),
        m.pusher === null ? "over every listed plan" : usd(m.pusher),
      ]),
    ),
    "",
    "When the room must feed relays: sockets it can feed directly, by batches per second:",
    "",
    table(
      ["batches/s", "children per object", "sockets fed directly"],
      [1, 10, 100, 200].map((b) => {
        const t = topology({ sockets: 1, batchesPerS: b, ...pick(options) });
        return [String(b), int(t.fanout), int(t.directSocketsMax)];
      }),
    ),
  );
  return { text: out.join("\n"), rooms };
}

function pick({ shardSockets, rpcPerObjectPerS }) {
  return { shardSockets, rpcPerObjectPerS };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  try {
    const options = parseArgs(process.argv.slice(2));
    const { text, rooms } = render(options);
    console.log(options.json ? JSON.stringify(rooms, null, 2) : text);
  } catch (err) {
    console.error(err.message);
    process.exit(2);
  }
}
