import * as time from "../platform/time";
import { AUTH_EVENT, type RequestId, type ServerEvent } from "../protocol";
import type { Member } from "./member";
import {
  SHARD_RING_ITEMS,
  type ShardConnected,
  type ShardEffects,
  type ShardItem,
  type ShardPeer,
} from "./shard-protocol";

/** An item of the room's order: a stream event or a room kind's own item. */
type Ordered = Extract<ShardItem, { type: "event" } | { type: "item" }>;

/** What a shard needs from the object it runs in. */
export interface ReplicaHost<S> {
  shard: number;
  room(): ShardPeer<S>;
  /** Open sockets of the shard (the joining ones included: the replica leaves those out). */
  sockets(): WebSocket[];
  memberOf(ws: WebSocket): Member<S>;
  saveMember(ws: WebSocket, member: Member<S>): void;
  socketIdOf(ws: WebSocket): string | undefined;
  /** The shard's listeners (sockets, and for the bus its streams and parked polls). */
  listeners(): number;
  /** Renders stream events per socket and sends them. */
  deliver(frames: ServerEvent[], targets: WebSocket[]): void;
  /** A room kind's own item (a bus message) to its live listeners, or to `only`. */
  deliverItem(seq: number, data: unknown, only?: WebSocket): void;
  sendText(ws: WebSocket, text: string): void;
  /** Runs `fn` as one delivery pass: a `?batch=1` socket gets its frames as one array. */
  inOnePass<T>(fn: () => T): T;
  /** Closes a socket and runs its leave. */
  close(ws: WebSocket, code: number, reason: string): void;
  /** Logs an error that reached this shard; what the client may see of it. */
  failure(err: unknown, where: string): { status: number; errors: string[] };
  /** The room's sockets must resume (an event was lost to this shard): close with 1012. */
  resumeAll(): void;
  closeAll(code: number, reason: string): void;
  reportError(err: unknown, where: string): void;
}

/**
 * The shard's side: takes the room's feed in order (a repeated item is dropped, a missing stream
 * event is asked of the room, anything else missing makes the sockets resume), keeps a ring of
 * recent items so a socket that joins while the room answers its connect misses nothing, and
 * reports joins and leaves to the room in batches.
 */
export class ShardReplica<S> {
  /** Last ordered item taken; null until the first (a fresh object takes the feed as it comes). */
  private fed: number | null = null;
  private readonly ring: Ordered[] = [];
  /** Sockets still joining: their catch-up comes from the connect answer, then the ring. */
  private readonly joining = new Set<WebSocket>();
  private chain: Promise<void> = Promise.resolve();
  private joined: Member<S>[] = [];
  private left: Member<S>[] = [];
  private reporting = false;
  private reportAgain = false;
  private version = 0;
  /** This object's first report says which sockets it still holds. */
  private started = false;

  constructor(private readonly host: ReplicaHost<S>) {}

  /** Fed room-kind items after `seq` still in the ring (a long poll parking here). */
  itemsAfter(seq: number): { seq: number; data: unknown }[] {
    return this.ring.flatMap((item) =>
      item.type === "item" && item.seq > seq ? [{ seq: item.seq, data: item.data }] : [],
    );
  }

  isJoining(ws: WebSocket): boolean {
    return this.joining.has(ws);
  }

  /** Feeds arrive one at a time from the room; they are also handled one at a time here. */
  feed(items: ShardItem[]): Promise<void> {
    const run = this.chain.then(() => this.take(items));
    this.chain = run.catch((err) => this.host.reportError(err, "shardFeed"));
    return run;
  }

  /**
   * Connects `ws` through the room (its replay, `resync` or join frames), then sends what the
   * ring holds after the room's answer, and only then makes it live.
   */
  async join(ws: WebSocket, member: Member<S>, since: number | null): Promise<ShardConnected<S>> {
    this.joining.add(ws);
    try {
      const socketId = crypto.randomUUID();
      const named = { ...member, sid: socketId };
      this.host.saveMember(ws, named);
      const answer = await this.host
        .room()
        .shardConnect({ shard: this.host.shard, socketId, member: named, since });
      await this.chain;
      this.host.saveMember(ws, answer.member);
      this.host.inOnePass(() => {
        if (answer.resync) this.host.sendText(ws, JSON.stringify(answer.resync));
        this.host.deliver(answer.events, [ws]);
        for (const text of answer.sends) this.host.sendText(ws, text);
        for (const item of this.ring) {
          if (this.seqOf(item) > answer.head) this.send(item, ws);
        }
      });
      this.noteJoin(answer.member);
      return answer;
    } finally {
      this.joining.delete(ws);
    }
  }

  /** A command of `ws`, checked here, run by the room; its effects replayed on the socket. */
  async command(
    ws: WebSocket,
    event: string,
    data: unknown,
    requestId?: RequestId,
  ): Promise<{ status: number; errors: string[]; data?: unknown }> {
    const member = this.host.memberOf(ws);
    try {
      const result = await this.host.room().shardCommand({
        shard: this.host.shard,
        socketId: member.sid ?? "",
        member,
        event,
        data,
        requestId,
      });
      this.apply(ws, result);
      return { status: result.status, errors: result.errors, data: result.data };
    } catch (err) {
      return this.host.failure(err, "shardCommand");
    }
  }

  /** `ws` took a new credential: the room kind's hook runs in the room. */
  async refreshed(ws: WebSocket, member: Member<S>, previous: Member<S>): Promise<void> {
    const effects = await this.host.room().shardRefreshed({
      shard: this.host.shard,
      socketId: member.sid ?? "",
      member,
      previous,
      event: AUTH_EVENT,
      data: null,
    });
    this.apply(ws, effects);
  }

  /** What a room hook did to the stand-in of `ws`, done to `ws`. */
  private apply(ws: WebSocket, effects: ShardEffects<S>): void {
    this.host.saveMember(ws, effects.member);
    for (const text of effects.sends) this.host.sendText(ws, text);
    if (effects.close) this.host.close(ws, effects.close.code, effects.close.reason);
  }

  noteJoin(member: Member<S>): void {
    this.joined.push(member);
    this.report();
  }

  noteLeave(member: Member<S>): void {
    this.left.push(member);
    this.report();
  }

  /** Tells the room this shard's count and its joins and leaves; one report in flight. */
  report(): void {
    if (this.reporting) {
      this.reportAgain = true;
      return;
    }
    this.reporting = true;
    const joined = this.joined.splice(0);
    const left = this.left.splice(0);
    const present = this.started
      ? undefined
      : this.host.sockets().flatMap((ws) => this.host.memberOf(ws).sid ?? []);
    this.started = true;
    // Epoch-based, so a shard rebuilt after eviction still reports newer than its last self.
    this.version = Math.max(this.version + 1, time.now());
    this.host
      .room()
      .shardReport({
        shard: this.host.shard,
        version: this.version,
        sockets: this.host.listeners(),
        joined,
        left,
        present,
      })
      .catch((err) => this.host.reportError(err, "shardReport"))
      .finally(() => {
        this.reporting = false;
        if (this.reportAgain) {
          this.reportAgain = false;
          this.report();
        }
      });
  }

  /**
   * A feed batch, delivered as one pass per run of items without a gap (a `?batch=1` socket gets
   * each run as one array); a gap is filled from the room between two passes.
   */
  private async take(items: ShardItem[]): Promise<void> {
    let next = 0;
    while (next < items.length) {
      let gap: Ordered | null = null;
      this.host.inOnePass(() => {
        for (; next < items.length && !gap; next++) gap = this.takeOne(items[next] as ShardItem);
      });
      if (gap && !(await this.catchUp(gap))) return;
      if (gap) this.host.inOnePass(() => this.takeOrdered(gap as Ordered));
    }
    // A shard woken by a feed with nobody left (evicted meanwhile) stops the room feeding it.
    if (this.host.listeners() === 0) this.report();
  }

  /** Delivers one item; an ordered item after a gap is returned instead, to catch up first. */
  private takeOne(item: ShardItem): Ordered | null {
    if (item.type === "close") {
      this.host.closeAll(item.code, item.reason);
      return null;
    }
    if (item.type === "broadcast") {
      for (const ws of this.host.sockets()) {
        if (this.joining.has(ws)) continue;
        if (item.except === undefined || this.host.socketIdOf(ws) !== item.except) {
          this.host.sendText(ws, item.text);
        }
      }
      return null;
    }
    const seq = this.seqOf(item);
    if (this.fed !== null && seq <= this.fed) return null;
    if (this.fed !== null && seq > this.fed + 1) return item;
    this.takeOrdered(item);
    return null;
  }

  private takeOrdered(item: Ordered): void {
    this.remember(item);
    this.send(item);
  }

  /** Fills a gap before `item` from the room's stream; false when that is not possible. */
  private async catchUp(item: Ordered): Promise<boolean> {
    const missed =
      item.type === "event" ? await this.host.room().shardEventsAfter(this.fed ?? 0) : null;
    if (!missed) {
      this.host.resumeAll();
      this.fed = null;
      this.ring.length = 0;
      return false;
    }
    for (const frame of missed) {
      if (frame.seq === undefined || frame.seq >= this.seqOf(item)) break;
      const event: Ordered = { type: "event", frame };
      this.remember(event);
      this.send(event);
    }
    return true;
  }

  private remember(item: Ordered): void {
    this.fed = this.seqOf(item);
    this.ring.push(item);
    if (this.ring.length > SHARD_RING_ITEMS) this.ring.shift();
  }

  /** To every live socket, or to `only` (a socket catching up from the ring). */
  private send(item: Ordered, only?: WebSocket): void {
    if (item.type === "item") {
      // The room kind reaches its own listeners (the bus: by channel; joining sockets not live).
      this.host.deliverItem(item.seq, item.data, only);
      return;
    }
    const targets = only ? [only] : this.host.sockets().filter((ws) => !this.joining.has(ws));
    this.host.deliver([item.frame], targets);
  }

  private seqOf(item: Ordered): number {
    return item.type === "event" ? (item.frame.seq ?? 0) : item.seq;
  }
}
