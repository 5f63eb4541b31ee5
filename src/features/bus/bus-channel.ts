import { z } from "zod";
import { badRequest, notFound, validationError } from "../../platform/errors";
import * as time from "../../platform/time";
import { BaseRoom } from "../../realtime/base-room";
import type { CommandTable } from "../../realtime/commands";
import { admissionFromHeaders, ROOM_ID_HEADER, ROOM_KIND_HEADER } from "../../realtime/forward";
import { GroupCommit } from "../../realtime/group-commit";
import type { Member } from "../../realtime/member";
import type { Occupancy } from "../../realtime/occupancy";
import type { RoomKind } from "../../realtime/room-kind";
import { type Outcome, succeeded } from "../../realtime/room-queue";
import { SHARD_HEADER, shardName } from "../../realtime/shard-protocol";
import { type PreparedEvent, ROOM_OUTBOX_RETRY_MS, RoomOutbox } from "../webhooks";
import { ChannelName, DbName, listenChannels, parseChannelQuery } from "./channels";
import { SseStreams } from "./sse";
import { BusStore, KEEP_MS, type NewMessage } from "./store";
import { Waiters } from "./waiters";
import { answerOf, type Delivery, type MessageInput, type PollAnswer } from "./wire";

/** Internal URL the Worker POSTs a StreamRequest to for an SSE stream (not reachable otherwise). */
export const BUS_STREAM_URL = "https://bus.internal/stream";

/** Re-check retention at most this often while messages are kept. */
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Channel tags per socket: the runtime allows 10 tags, and the base room uses one for the user
 * (the socket cap). A socket with more channels gets MANY.
 */
const MAX_TAGS = 9;
/** The tag of sockets listening to more than MAX_TAGS channels: filtered by attachment. */
const MANY = "*many";
const channelTag = (channel: string) => `c:${channel}`;

export const PollRequest = z.object({
  channels: z.array(ChannelName).min(1),
  last_message: z.string().nullable(),
  timeout_ms: z.number().int().min(0).max(60_000),
});
export type PollRequest = z.infer<typeof PollRequest>;

/** An SSE stream: the channels the Worker authorised, and where to resume. */
export const StreamRequest = z.object({
  channels: z.array(ChannelName).min(1),
  last_message: z.string().max(200).nullable(),
});
export type StreamRequest = z.infer<typeof StreamRequest>;

/** The namespace's answer to a poll it hands to one of its shards (contract §10). */
export interface PollElsewhere {
  shard: number;
}

/** What a shard learns from the namespace before it parks a poll. */
type PollStart = { answer: PollAnswer } | { head: number; gap: boolean };

/** What `busKind.admit` decided for a socket: exactly the channels it may listen to. */
const BusAdmission = z.object({ channels: z.array(ChannelName).min(1) });

/** A bus socket: its authorised channels, its resume point, and whether catch-up is done. */
interface BusSocketState extends Record<string, unknown> {
  channels: string[];
  lastMessage: string | null;
  live: boolean;
}

/**
 * The bus of one namespace (`:db`): every channel of it, in ONE object.
 *
 * It assigns each published message its place in the namespace's single sequence and stores
 * it (SQLite, durable before the publisher's answer), then hands it to the long polls parked
 * here, the WebSockets and the SSE streams that listen to its channel. One object per `:db`
 * is what gives a single `last_message` a meaning across channels (see docs/bus.md), and it
 * keeps each parked poll in exactly one object, however many channels it listens to.
 */
export class BusChannel extends BaseRoom<BusSocketState> {
  /** Listeners need not speak: a quiet socket is still subscribed. */
  protected override readonly dropsSilentSockets = false;
  protected readonly commands: CommandTable<BusSocketState> = {};
  /** Webhook events stored with their messages (notify's), until they are recorded in D1. */
  private readonly outbox = new RoomOutbox(this.ctx.storage);
  private readonly store = new BusStore(this.ctx.storage, this.outbox);
  private readonly waiters = new Waiters();
  private readonly streams = new SseStreams(() => {
    this.noteActivity();
    this.reportToRoom();
  });
  /** Parked long polls by the id their Worker gave them, so the Worker can cancel them. */
  private readonly polls = new Map<string, AbortController>();
  /** The namespace already recorded by `bind` (a storage read per call otherwise). */
  private boundDb: string | null = null;
  /** An alarm is known to be set (prune); checked in storage again after it fired. */
  private alarmSet = false;
  /**
   * Publishes (each one message, or a batch publish's list) that arrive while a commit is in
   * flight are stored together, in one transaction, and sent in one delivery pass.
   */
  private readonly publishes = new GroupCommit<NewMessage[], Delivery[]>(
    (groups) => this.commit(groups),
    () => this.ctx.storage.sync(),
  );

  /**
   * Stores a message on `channel` and delivers it; durable when this resolves. `event` (a
   * webhook event announcing it) is stored in the same transaction and then recorded in D1; when
   * that fails the answer is still the stored message, and the alarm records it later.
   */
  async publishMessage(
    db: string,
    channel: string,
    message: MessageInput,
    publishKey: string | null = null,
    event?: PreparedEvent,
  ): Promise<{ message_id: string }> {
    this.bindOnce(db);
    // Set before the write: an eviction right after the commit still leaves the event a drain.
    if (event) await this.ensureAlarmBy(time.now() + ROOM_OUTBOX_RETRY_MS);
    const [delivery] = await this.publishes.add([{ channel, input: message, publishKey, event }]);
    await this.afterPublish();
    if (event) await this.outbox.drain(this.env);
    return { message_id: (delivery as Delivery).message.message_id };
  }

  /**
   * A batch publish: every message stored in one transaction (all or none), delivered in order
   * in one pass; durable when this resolves. Message `i` is keyed `<publishKey>:<i>`, so a
   * retried call stores nothing twice and answers the same ids.
   */
  async publishMessages(
    db: string,
    messages: { channel: string; message: MessageInput }[],
    publishKey: string | null = null,
  ): Promise<{ message_ids: string[] }> {
    this.bindOnce(db);
    const deliveries = await this.publishes.add(
      messages.map(({ channel, message }, i) => ({
        channel,
        input: message,
        publishKey: publishKey === null ? null : `${publishKey}:${i}`,
      })),
    );
    await this.afterPublish();
    return { message_ids: deliveries.map((d) => d.message.message_id) };
  }

  /**
   * A long poll (by RPC: unlike `fetch`, it costs no dev-proxy relay): answers at once when a
   * message after the cursor exists, else parks until one arrives, the timeout, or
   * `cancelPoll(pollId)` when the client went away.
   */
  async pollMessage(
    db: string,
    request: PollRequest,
    pollId: string,
    shard?: number,
  ): Promise<PollAnswer | PollElsewhere> {
    this.bindOnce(db);
    if (shard !== undefined) this.bindShard(shard);
    const poll = PollRequest.parse(request);
    if (!this.isShard) {
      // A poll answered at once never parks; one that would park past the limit goes to a shard.
      const ready = this.answerNow(poll);
      if (ready) return ready;
      const elsewhere = this.pickShard();
      if (elsewhere !== null) return { shard: elsewhere };
    }
    const cancel = new AbortController();
    this.polls.set(pollId, cancel);
    this.noteActivity();
    try {
      return this.isShard
        ? await this.pollOnShard(poll, cancel.signal)
        : await this.poll(poll, cancel.signal);
    } finally {
      this.polls.delete(pollId);
      this.noteActivity();
      this.reportToRoom();
    }
  }

  /**
   * Shard → namespace, before a shard opens an SSE stream: its backlog after the client's cursor
   * and the sequence's head, after which the shard's feed carries every message.
   */
  shardStreamStart(
    db: string,
    request: StreamRequest,
    shard: number,
  ): { backlog: Delivery[]; gap: boolean; head: number } {
    this.bindOnce(db);
    this.shardListening(shard);
    const { channels, last_message } = StreamRequest.parse(request);
    const cursor = this.store.cursor(last_message, channels);
    return {
      backlog: this.store.after(cursor.after, channels),
      gap: cursor.gap,
      head: this.store.head(),
    };
  }

  /**
   * Shard → namespace, before a shard parks a poll: the answer when one is stored, else the
   * sequence's head, after which the shard's feed carries every message (it is fed from now on).
   */
  shardPollStart(db: string, request: PollRequest, shard: number): PollStart {
    this.bindOnce(db);
    this.shardListening(shard);
    const poll = PollRequest.parse(request);
    const cursor = this.store.cursor(poll.last_message, poll.channels);
    const next = this.store.next(cursor.after, poll.channels);
    if (next) return { answer: answerOf(next, cursor.gap) };
    return { head: this.store.head(), gap: cursor.gap };
  }

  /**
   * One channel's listeners (sockets, SSE streams, parked polls) here and on every shard, and
   * its newest kept message (`GET /api/bus/:db/channels/:channel`, contract §9). The shards are
   * asked, one RPC each, only when this is called: counting per channel in every shard report
   * would cost the hot path (each join and leave) a map as large as the shard's channels, for a
   * figure an operator reads now and then.
   */
  async channelInfo(
    db: string,
    channel: string,
  ): Promise<{ channel: string; subscribers: number; last_message_id: string | null }> {
    this.bindOnce(db);
    const onShards = await Promise.all(
      this.shardsListening().map((n) => busShardStub(this.env, db, n).channelListeners(channel)),
    );
    return {
      channel,
      subscribers: onShards.reduce((sum, n) => sum + n, this.channelListeners(channel)),
      last_message_id: this.store.lastMessageId(channel),
    };
  }

  /** This object's own listeners of `channel` (the namespace asks each of its shards). */
  channelListeners(channel: string): number {
    const sockets = [...this.socketsTagged(channelTag(channel)), ...this.socketsTagged(MANY)];
    const listening = sockets.filter((ws) =>
      this.memberOf(ws).state.channels.includes(channel),
    ).length;
    return listening + this.streams.listeningTo(channel) + this.waiters.listeningTo(channel);
  }

  /** Answers a parked poll with nothing: its client left. */
  cancelPoll(pollId: string): void {
    this.polls.get(pollId)?.abort();
  }

  /** Parked polls and open streams, for tests and diagnostics. */
  listeners(): { polls: number; streams: number; sockets: number } {
    return {
      polls: this.waiters.size,
      streams: this.streams.size,
      sockets: this.sockets().length,
    };
  }

  /** Past `ROOM_SHARD_SOCKETS` of these, new sockets and long polls go to shards. */
  protected override localListeners(): number {
    return this.sockets().length + this.streams.size + this.waiters.size;
  }

  protected override shardNamespace() {
    return this.env.BUS_CHANNEL;
  }

  /** Read right after a shard socket's catch-up (`onJoin`): newer messages reach it by feed. */
  protected override orderedHead(): number {
    return this.store.head();
  }

  /** On a shard: a message the namespace fed, to this shard's listeners (or to `only`). */
  protected override onShardItem(_seq: number, data: unknown, only?: WebSocket): void {
    const delivery = data as Delivery;
    if (!only) {
      this.waiters.offer(delivery);
      this.streams.offer(delivery);
      this.sendToSockets(delivery);
      return;
    }
    if (!this.memberOf(only).state.channels.includes(delivery.channel)) return;
    this.send(only, { event: "message", data: answerOf(delivery, false) });
  }

  /** A namespace's listeners are its sockets, SSE streams and parked long polls. */
  protected override occupancy(): Occupancy {
    return {
      sockets: this.sockets().length + this.streams.size + this.waiters.size,
      messages24h: this.store.countSince(time.now() - KEEP_MS),
      lastEventAt: this.store.newestAt(),
    };
  }

  protected override async onRequest(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "POST" && `${url.origin}${url.pathname}` === BUS_STREAM_URL) {
      const stream = StreamRequest.safeParse(await request.json());
      if (!stream.success) throw validationError(stream.error, "Invalid stream request");
      if (this.isShard) return this.openStreamOnShard(stream.data);
      const elsewhere = this.pickShard();
      if (elsewhere !== null) return this.streamOnShard(elsewhere, stream.data);
      return this.openStream(stream.data);
    }
    throw notFound("Bus endpoint");
  }

  protected override initialState(request: Request): BusSocketState {
    const { channels } = BusAdmission.parse(admissionFromHeaders(request.headers));
    return {
      channels,
      lastMessage: new URL(request.url).searchParams.get("last_message"),
      live: false,
    };
  }

  /** A socket is reached through its channels' tags, so a publish only visits its listeners. */
  protected override socketTags(member: Member<BusSocketState>): string[] {
    const { channels } = member.state;
    return channels.length > MAX_TAGS ? [MANY] : channels.map(channelTag);
  }

  /** Catch-up from `last_message`, then live; no await in between, so nothing slips through. */
  protected override onJoin(ws: WebSocket, member: Member<BusSocketState>): void {
    const { channels, lastMessage } = member.state;
    const cursor = this.store.cursor(lastMessage, channels);
    this.inOnePass(() =>
      this.store.after(cursor.after, channels).forEach((delivery, i) => {
        this.send(ws, { event: "message", data: answerOf(delivery, cursor.gap && i === 0) });
      }),
    );
    this.saveMember(ws, { ...member, state: { ...member.state, live: true } });
  }

  /** A refreshed token must still allow every channel of the socket, else access is removed. */
  protected override async onCredentialRefreshed(
    ws: WebSocket,
    member: Member<BusSocketState>,
  ): Promise<void> {
    const { userId, name, permissions, state } = member;
    if (userId === null) return;
    try {
      listenChannels({ kind: "user", user: { id: userId, name }, permissions }, state.channels);
    } catch {
      await this.closeSocket(ws, "accessRemoved", "a channel is no longer allowed");
    }
  }

  protected override async onAlarm(): Promise<void> {
    this.alarmSet = false;
    this.store.prune();
    await this.outbox.drain(this.env);
  }

  /** The next prune, or sooner the next drain of events whose drain failed or was cut off. */
  protected override nextAlarmAt(): number | null {
    const due: number[] = [];
    const oldest = this.store.oldestAt();
    if (oldest !== null) due.push(Math.max(oldest + KEEP_MS, time.now() + PRUNE_INTERVAL_MS));
    if (this.outbox.oldestAt() !== null) due.push(time.now() + ROOM_OUTBOX_RETRY_MS);
    return due.length ? Math.min(...due) : null;
  }

  /** Stores the groups in one transaction and sends what is new in one pass; one outcome each. */
  private commit(groups: NewMessage[][]): Outcome<Delivery[]>[] {
    const appended = this.store.appendAll(groups.flat());
    const fresh = appended.filter((a) => a.stored);
    let deliveries = 0;
    this.inOnePass(() => {
      for (const { delivery } of fresh) deliveries += this.fanOut(delivery);
    }, fresh.length);
    this.metric({ name: "room.publish", kind: "bus", deliveries });
    let at = 0;
    return groups.map((group) => {
      const mine = appended.slice(at, at + group.length).map((a) => a.delivery);
      at += group.length;
      return succeeded(mine);
    });
  }

  /** The prune alarm, set once a message is kept; activity for the room's report. */
  private async afterPublish(): Promise<void> {
    this.noteActivity();
    if (!this.alarmSet) {
      await this.ensureAlarmBy(this.nextAlarmAt() ?? time.now() + PRUNE_INTERVAL_MS, true);
    }
    this.alarmSet = true;
  }

  private bindOnce(db: string): void {
    if (this.boundDb === db) return;
    this.bind(db, "bus");
    this.boundDb = db;
  }

  /** The stored message after the poll's cursor, or null. */
  private answerNow(poll: PollRequest): PollAnswer | null {
    const cursor = this.store.cursor(poll.last_message, poll.channels);
    const next = this.store.next(cursor.after, poll.channels);
    return next ? answerOf(next, cursor.gap) : null;
  }

  /**
   * A poll parked on a shard: the namespace answers it or gives its head; what was fed after
   * that head is in this shard's ring, and anything later reaches the parked poll by feed.
   */
  private async pollOnShard(poll: PollRequest, signal: AbortSignal): Promise<PollAnswer> {
    // The RPC type of an open-ended message loses its shape; it is the PollStart sent.
    const start = (await busStub(this.env, this.roomId).shardPollStart(
      this.roomId,
      poll,
      Number(this.meta("shard_index")),
    )) as PollStart;
    if ("answer" in start) return start.answer;
    const fed = this.shardItemsAfter(start.head)
      .map(({ data }) => data as Delivery)
      .find((d) => poll.channels.includes(d.channel));
    if (fed) return answerOf(fed, start.gap);
    const parked = this.waiters.wait(
      poll.channels,
      { after: start.head, gap: start.gap },
      poll.timeout_ms,
      signal,
    );
    this.reportToRoom();
    return parked;
  }

  /** Answers at once when a message after the cursor exists, else parks until one arrives. */
  private poll(poll: PollRequest, signal: AbortSignal): Promise<PollAnswer> | PollAnswer {
    const cursor = this.store.cursor(poll.last_message, poll.channels);
    const next = this.store.next(cursor.after, poll.channels);
    if (next) return answerOf(next, cursor.gap);
    return this.waiters.wait(poll.channels, cursor, poll.timeout_ms, signal);
  }

  private openStream({ channels, last_message }: StreamRequest): Response {
    const cursor = this.store.cursor(last_message, channels);
    const body = this.streams.start(channels, this.store.after(cursor.after, channels), cursor.gap);
    this.noteActivity();
    return sseResponse(body);
  }

  /** Hands an SSE stream to shard `n` (the namespace holds enough listeners). */
  private streamOnShard(n: number, stream: StreamRequest): Promise<Response> {
    return busShardStub(this.env, this.roomId, n).fetch(BUS_STREAM_URL, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        [SHARD_HEADER]: String(n),
        [ROOM_ID_HEADER]: this.roomId,
        [ROOM_KIND_HEADER]: "bus",
      },
      body: JSON.stringify(stream),
    });
  }

  /** An SSE stream on a shard: the namespace's backlog, then what this shard was fed since. */
  private async openStreamOnShard(stream: StreamRequest): Promise<Response> {
    const start = (await busStub(this.env, this.roomId).shardStreamStart(
      this.roomId,
      stream,
      Number(this.meta("shard_index")),
    )) as { backlog: Delivery[]; gap: boolean; head: number };
    const fed = this.shardItemsAfter(start.head)
      .map(({ data }) => data as Delivery)
      .filter((d) => stream.channels.includes(d.channel));
    const body = this.streams.start(stream.channels, [...start.backlog, ...fed], start.gap);
    this.reportToRoom();
    return sseResponse(body);
  }

  /** To the shards, parked polls, streams and sockets; returns how many local listeners. */
  private fanOut(delivery: Delivery): number {
    this.feedShards(delivery.seq, delivery);
    const listeners = this.waiters.offer(delivery) + this.streams.offer(delivery);
    return listeners + this.sendToSockets(delivery);
  }

  /** Sends a message to the live sockets of its channel; returns how many. */
  private sendToSockets(delivery: Delivery): number {
    const tagged = this.socketsTagged(channelTag(delivery.channel));
    const many = this.socketsTagged(MANY).filter((ws) =>
      this.memberOf(ws).state.channels.includes(delivery.channel),
    );
    if (!tagged.length && !many.length) return 0;
    const frame = JSON.stringify({ event: "message", data: answerOf(delivery, false) });
    let sent = 0;
    for (const ws of many.length ? [...tagged, ...many] : tagged) {
      // Not live yet: its catch-up (onJoin) still comes, and it reads this message from storage.
      if (!this.memberOf(ws).state.live) continue;
      this.sendSerialized(ws, frame);
      sent += 1;
    }
    return sent;
  }
}

/** The one BusChannel of namespace `db`. */
export function busStub(env: Env, db: string): DurableObjectStub<BusChannel> {
  return env.BUS_CHANNEL.get(env.BUS_CHANNEL.idFromName(db));
}

function sseResponse(body: ReadableStream<Uint8Array>): Response {
  return new Response(body, {
    headers: {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache, no-transform",
      "X-Accel-Buffering": "no",
    },
  });
}

/** Shard `n` of namespace `db`: it holds listeners past the namespace's own (contract §10). */
export function busShardStub(env: Env, db: string, n: number): DurableObjectStub<BusChannel> {
  return env.BUS_CHANNEL.get(env.BUS_CHANNEL.idFromName(shardName(db, n)));
}

/**
 * `/ws/bus/:db?channels=a,b&last_message=<id>`: channels are authorised before the upgrade, and
 * the socket listens to exactly that list.
 */
export const busKind: RoomKind = {
  stub: busStub,
  admit: async (_env, db, caller, request): Promise<z.infer<typeof BusAdmission>> => {
    const name = DbName.safeParse(db);
    if (!name.success)
      throw badRequest("Invalid namespace", { db: [name.error.issues[0]?.message] });
    const params = new URL(request.url).searchParams;
    const channels = listenChannels(caller, parseChannelQuery(params.get("channels")));
    const last = params.get("last_message");
    if (last !== null && last.length > 200) throw badRequest("Invalid last_message");
    return { channels };
  },
};
