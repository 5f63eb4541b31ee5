// Every scenario, in the order `npm run bench` runs them; each adds its figures to the report.
// Sizes follow the issue; `quick` shortens everything to check the harness itself.
import { BUS_BATCH, bareHttpTarget, oursTarget, peerTargets } from "../lib/targets.mjs";
import { busLatency, busThroughput, oursPolling, peerPollings } from "./bus.mjs";
import { fanout } from "./fanout.mjs";
import { idle } from "./idle.mjs";
import { poker } from "./poker.mjs";
import { webhooks } from "./webhooks.mjs";

/**
 * The issue asks for 5,000. Under `wrangler dev` every socket holds about six descriptors in
 * workerd (the client's, the dev proxy's and the Durable Object hop's), so a process limit of
 * 20,000 (this machine's hard limit, not raisable without privileges) allows about 2,500.
 */
const FDS_PER_SOCKET = 6;
const IDLE_SOCKETS = Math.min(
  5_000,
  Math.floor((Number(process.env.BENCH_NOFILE || 65_536) - 5_000) / FDS_PER_SOCKET / 500) * 500,
);

/** Per-peer values of one key from `{ peer: { key: [...] } }`. */
function pick(byPeer, key) {
  return Object.fromEntries(Object.entries(byPeer).map(([peer, f]) => [peer, f[key]]));
}

const fanoutScenario = {
  id: "fanout",
  title: "room fan-out, one publisher, N = 100 and 1,000 subscribers, 200-byte events",
  async run({ servers, report, quick, runs, log }) {
    const results = await fanout({
      targets: [
        oursTarget(servers.ours, "bench", { batch: BUS_BATCH }),
        ...peerTargets(servers),
        bareHttpTarget(servers, { durable: false }),
        // The floor of ours' own path: an HTTP publish stored before it is sent (seventh round).
        bareHttpTarget(servers, { durable: true }),
      ],
      sizes: quick ? [100] : [100, 1000],
      runs,
      phaseMs: quick ? 1000 : 1200,
      log,
    });
    for (const [n, { ours, ...peers }] of Object.entries(results)) {
      report.add({
        name: `fanout_n${n}_throughput`,
        unit: "deliveries/s",
        ours: ours.deliveries,
        peers: pick(peers, "deliveries"),
        target: { "bare DO": ">= 0.9", PartyServer: ">= 1.0" },
        higherIsBetter: true,
      });
      report.add({
        name: `fanout_n${n}_p50`,
        unit: "ms",
        ours: ours.p50,
        peers: pick(peers, "p50"),
      });
      report.add({
        name: `fanout_n${n}_p99`,
        unit: "ms",
        ours: ours.p99,
        peers: pick(peers, "p99"),
        target: { "bare DO": "<= 1.2" },
      });
    }
  },
};

const idleScenario = {
  id: "idle",
  title: `idle sockets: ${IDLE_SOCKETS} hibernatable sockets in one room`,
  async run({ servers, report, quick, runs, log }) {
    const [bare, party, node] = peerTargets(servers);
    const { ours, ...peers } = await idle({
      targets: [
        { target: oursTarget(servers.ours, "bench"), pid: servers.ours.pid },
        { target: bare, pid: servers.peers.pid },
        { target: party, pid: servers.party.pid },
        { target: node, pid: servers.node.pid },
      ],
      sockets: quick ? 1000 : IDLE_SOCKETS,
      runs,
      settleMs: 1000,
      log,
    });
    const label = quick ? 1000 : IDLE_SOCKETS;
    // RSS does not shrink after sockets close (the allocator keeps the pages), so only the first
    // cycle in each process measures new memory; later cycles are kept in results.json.
    const first = (values) => values.slice(0, 1);
    report.add({
      name: `idle_${label}_memory_per_socket`,
      unit: "KiB",
      ours: first(ours.kibPerSocket),
      peers: Object.fromEntries(
        Object.entries(pick(peers, "kibPerSocket")).map(([p, v]) => [p, first(v)]),
      ),
    });
    report.note("idle_memory_per_socket_kib_every_cycle", {
      ours: ours.kibPerSocket,
      ...pick(peers, "kibPerSocket"),
    });
    report.add({
      name: `idle_${label}_broadcast_to_all`,
      unit: "ms",
      ours: ours.broadcastMs,
      peers: pick(peers, "broadcastMs"),
    });
    report.add({
      name: `idle_${label}_first_broadcast_after_idle`,
      unit: "ms",
      ours: ours.firstBroadcastMs,
      peers: pick(peers, "firstBroadcastMs"),
    });
    report.add({
      name: `idle_${label}_connect_rate`,
      unit: "sockets/s",
      ours: ours.connectPerS,
      peers: pick(peers, "connectPerS"),
      higherIsBetter: true,
    });
  },
};

const pokerScenario = {
  id: "poker",
  title: "poker round: 50 voters, first vote until every client has seen all 50",
  async run({ servers, report, quick, runs, log }) {
    const voters = quick ? 20 : 50;
    const { ours, ...peers } = await poker({
      servers,
      peers: peerTargets(servers),
      voters,
      runs,
      log,
    });
    report.add({ name: `poker_round_${voters}_voters`, unit: "ms", ours, peers });
  },
};

const busScenario = {
  id: "bus",
  title: "bus: long-poll latency (100 pollers, 10 channels), durable messages/s on one channel",
  async run({ servers, report, quick, runs, log }) {
    const latency = await busLatency({
      targets: [oursPolling(servers.ours, "bench"), ...peerPollings(servers)],
      runs,
      options: {
        channels: 10,
        pollers: 100,
        durationMs: quick ? 2000 : 5000,
        intervalMs: 100,
        warmupMs: 500,
      },
      log,
    });
    const { ours, ...peers } = latency;
    report.note("bus_longpoll_failed_polls_per_run", ours.failed);
    report.add({ name: "bus_longpoll_p50", unit: "ms", ours: ours.p50, peers: pick(peers, "p50") });
    report.add({
      name: "bus_longpoll_p99",
      unit: "ms",
      ours: ours.p99,
      peers: pick(peers, "p99"),
      target: { absolute: "<= 50 ms" },
    });
    const throughput = await busThroughput({
      targets: [oursTarget(servers.ours, "bench"), bareHttpTarget(servers, { durable: true })],
      runs,
      durationMs: quick ? 1000 : 2000,
      inFlight: 16,
      log,
    });
    const { ours: oursRate, ...peerRates } = throughput;
    report.add({
      name: "bus_durable_throughput",
      unit: "messages/s",
      ours: oursRate,
      peers: peerRates,
      higherIsBetter: true,
    });
  },
};

const webhooksScenario = {
  id: "webhooks",
  title: "webhooks: deliveries/s to a local receiver, all 200 and 30 % 500",
  async run({ servers, report, quick, runs, log }) {
    const results = await webhooks({ servers, runs, events: quick ? 100 : 200, log });
    for (const [mode, { ours, ...peers }] of Object.entries(results)) {
      report.add({
        name: `webhooks_${mode}_throughput`,
        unit: "deliveries/s",
        ours,
        peers,
        target: { absolute: ">= 300 deliveries/s" },
        higherIsBetter: true,
      });
    }
  },
};

export const SCENARIOS = [
  fanoutScenario,
  idleScenario,
  pokerScenario,
  busScenario,
  webhooksScenario,
];
