// Types of scripts/scale-model.mjs for its test (test/node is type-checked; the script is plain
// Node so that `npm run scale-model` needs no build).
export interface Tree {
  sockets: number;
  shardSockets: number;
  shards: number;
  relays: number;
  objects: number;
  depth: number;
  fanout: number;
  directSocketsMax: number;
}
export interface Latency {
  p50Ms: number;
  p99Ms: number;
  lastMs: number;
  maxEventsPerS: number;
}
export interface CloudflareCost {
  workerRequests: number;
  workerCpu: number;
  doRequests: number;
  doDuration: number;
  doRowsWritten: number;
  total: number;
  doRequestCount: number;
  busySeconds: number;
}
export interface PusherPlan {
  name: string;
  usd: number;
  perDay: number;
  connections: number;
  perMillion: number;
}
export interface Month {
  deliveries: number;
  cloudflare: number;
  cloudflareKeepalive: number;
  ably: number;
  pusher: number | null;
}
export interface Options {
  sockets: number[];
  shardSockets: number;
  eventsPerS: number;
  batchWindowMs: number;
  rpcPerObjectPerS: number;
  deliveriesPerObjectPerS: number;
  rpcHopMs: number;
  publishFixedMs: number;
  pingsPerSocketPerMin: number;
  json?: boolean;
}
export interface Room {
  tree: Tree;
  latency: Latency;
  cloudflare: CloudflareCost;
  ably: number;
  pusher: PusherPlan | null;
  month: Month;
}
export const MEASURED: Record<string, number>;
export const LIMITS: Record<string, number>;
export const DEFAULTS: Options;
export function topology(input: {
  sockets: number;
  shardSockets?: number;
  batchesPerS: number;
  rpcPerObjectPerS?: number;
}): Tree;
export function latency(
  tree: Tree,
  options: {
    batchWindowMs: number;
    deliveriesPerObjectPerS?: number;
    publishFixedMs?: number;
    rpcHopMs?: number;
  },
): Latency;
export function cloudflarePerMillion(
  tree: Tree,
  options: {
    eventsPerS: number;
    batchesPerS: number;
    deliveriesPerObjectPerS?: number;
    rpcHopMs?: number;
    publishBusyMs?: number;
  },
): CloudflareCost;
export function ablyPerMillion(sockets: number): number;
export function pusherPlan(sockets: number): PusherPlan | null;
export function modelRoom(sockets: number, options: Options): Room;
export function parseArgs(argv: string[]): Options;
export function render(options: Options): { text: string; rooms: Room[] };
