import type { RequestId, ServerEvent } from "../protocol";
import type { Member } from "./member";

/**
 * What a room and its shard objects say to each other (contract §10). A shard is an object of
 * the room's own class named `<room id>#shard-<n>`: it holds sockets past the room's
 * `ROOM_SHARD_SOCKETS`, renders and sends what the room feeds it, and forwards its sockets'
 * commands to the room, which stays the only writer.
 */

/** Set by the room when it hands an upgrade to shard `n`; the Worker strips client copies. */
export const SHARD_HEADER = "X-Switchboard-Shard";
/** Ring of recent items a shard keeps, so a socket joining mid-feed misses nothing. */
export const SHARD_RING_ITEMS = 1_000;
/** Default sockets per object before new ones go to a shard (contract §10). */
export const DEFAULT_SHARD_SOCKETS = 10_000;

export function shardName(roomId: string, n: number): string {
  return `${roomId}#shard-${n}`;
}

/** `ROOM_SHARD_SOCKETS`, at least 1; unset or invalid is the default. */
export function shardSocketLimit(raw: string | undefined): number {
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 1 ? n : DEFAULT_SHARD_SOCKETS;
}

/**
 * One thing fed to a shard, in the room's order: a stream event (rendered per socket, `seq`
 * checked for gaps), a frame outside the stream (sent as is, maybe not to one socket), or a
 * room kind's own ordered item (the bus's messages), or closing every socket (a room that ended).
 */
export type ShardItem =
  | { type: "event"; frame: ServerEvent }
  | { type: "broadcast"; text: string; except?: string }
  | { type: "item"; seq: number; data: unknown }
  | { type: "close"; code: number; reason: string };

/** What a shard sent on a socket's behalf, for the room's command and join hooks. */
export interface ShardEffects<S> {
  /** Frames the room's hook sent to the socket, already serialised, in order. */
  sends: string[];
  /** The socket's member as the hook left it (saved on the shard's socket). */
  member: Member<S>;
  /** A close the hook asked for. */
  close: { code: number; reason: string } | null;
}

export interface ShardConnect<S> {
  shard: number;
  socketId: string;
  member: Member<S>;
  since: number | null;
}

export interface ShardConnected<S> extends ShardEffects<S> {
  /** `resync` when `since` was older than the stream keeps. */
  resync: ServerEvent | null;
  /** Stream events after `since` (or published while the join ran), for the shard to render. */
  events: ServerEvent[];
  /** The last ordered item the answer covers: the shard sends newer ones from its ring. */
  head: number;
}

export interface ShardCommand<S> {
  shard: number;
  socketId: string;
  member: Member<S>;
  event: string;
  data: unknown;
  requestId?: RequestId;
}

export interface ShardCommandResult<S> extends ShardEffects<S> {
  status: number;
  errors: string[];
  data?: unknown;
}

/**
 * A shard's report: its listener count and the members that joined or left since its last one
 * (the hook where presence across shards is merged). `version` orders reports of one shard.
 */
export interface ShardReport<S> {
  shard: number;
  version: number;
  sockets: number;
  joined: Member<S>[];
  left: Member<S>[];
  /**
   * In the first report of a shard object started afresh (after eviction or hibernation): the
   * ids (`sid`) of every socket it holds, so the room forgets members an eviction took without
   * a leave.
   */
  present?: string[];
}

/** The room's RPC methods a shard calls, and the shard's one the room calls. */
export interface ShardPeer<S = unknown> {
  shardConnect(input: ShardConnect<S>): Promise<ShardConnected<S>>;
  shardCommand(input: ShardCommand<S>): Promise<ShardCommandResult<S>>;
  shardRefreshed(input: ShardCommand<S> & { previous: Member<S> }): Promise<ShardEffects<S>>;
  shardReport(report: ShardReport<S>): Promise<void>;
  shardEventsAfter(seq: number): Promise<ServerEvent[] | null>;
  shardFeed(items: ShardItem[]): Promise<void>;
  fetch(request: Request): Promise<Response>;
}
