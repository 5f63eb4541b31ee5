import { DurableObject } from "cloudflare:workers";
import type { z } from "zod";
import type { Caller } from "../platform/auth/caller";
import { type ApiError, toApiError } from "../platform/errors";
import { logger } from "../platform/log";
import { type Metric, record } from "../platform/metrics";
import { recordError } from "../platform/recent-errors/record";
import * as time from "../platform/time";
import {
  AUTH_EVENT,
  CLOSE_CODES,
  type CloseReason,
  exceedsFrameLimit,
  issuesToErrors,
  MAX_FRAME_BYTES,
  parseClientFrame,
  type Reply,
  type RequestId,
  type ServerEvent,
} from "../protocol";
import type {
  BatchCommand,
  Command,
  CommandContext,
  CommandTable,
  SingleCommand,
} from "./commands";
import { EventStream } from "./event-stream";
import { callerFromHeaders, ROOM_ID_HEADER, ROOM_KIND_HEADER } from "./forward";
import { FramePass, wantsBatches } from "./frame-pass";
import { type Member, memberCan, memberFromCaller } from "./member";
import {
  OCCUPANCY_REPORT_MS,
  type Occupancy,
  occupancySignature,
  writeOccupancy,
} from "./occupancy";
import { graceMsOf, type PresentUser } from "./presence";
import { FrameRateLimiter } from "./rate-limit";
import { LOCAL_CONN_PREFIX, RoomPresence } from "./room-presence";
import { type Outcome, RoomQueue } from "./room-queue";
import {
  SHARD_HEADER,
  type ShardCommand,
  type ShardCommandResult,
  type ShardConnect,
  type ShardConnected,
  type ShardEffects,
  type ShardItem,
  type ShardPeer,
  type ShardReport,
  shardName,
  shardSocketLimit,
} from "./shard-protocol";
import { ShardRegistry } from "./shard-registry";
import { ShardReplica } from "./shard-replica";
import { ShardRoster } from "./shard-roster";
import { isShardSocket, ShardSocket, shardSocketId } from "./shard-socket";
import { SocketLifetime } from "./socket-lifetime";

/**
 * A socket silent this long (no frame, no auto-answered `ping`) is dropped by the sweep, in rooms
 * with presence (`dropsSilentSockets`).
 */
export const IDLE_TIMEOUT_MS = 60_000;
/** Writing the attachment on every frame is wasteful; `lastSeen` only needs this precision. */
const LAST_SEEN_RESOLUTION_MS = 5_000;

/**
 * The base of every room kind (poker session, thread, bus channel, person).
 *
 * It implements the runtime entry points once: WebSocket upgrade with hibernation, the frame
 * envelope, command dispatch with per-event permissions, replies, limits, the ordered event
 * stream with `?since=` resume, the idle sweep alarm, and the socket's credential lifetime
 * (`token_expiring`, the in-band `auth` refresh, close 4401 at expiry or key revocation, the
 * per-user socket cap). A room kind declares its `commands` and overrides the hooks it needs
 * (`onJoin`, `onLeave`, `snapshot`, `renderFor`, `onRequest`, ...).
 */
export abstract class BaseRoom<S = Record<string, unknown>> extends DurableObject<Env> {
  protected readonly sql: SqlStorage;
  protected readonly stream: EventStream;
  /**
   * Whether silence means gone: a room that shows who is present (poker) drops a socket silent
   * for IDLE_TIMEOUT_MS; a room whose sockets only listen (bus, threads, persons) keeps them.
   */
  protected readonly dropsSilentSockets: boolean = true;
  /**
   * Whether the room keeps presence (`src/realtime/presence.ts`): who is here with how many
   * connections, a coalesced `onPresenceChanged`, the leave grace, `room.occupied`/`vacated`.
   */
  protected readonly tracksPresence: boolean = false;
  /** Sockets the server closed (idle, credential expired or revoked): their users leave at once. */
  private readonly closedByServer = new WeakSet<WebSocket>();
  private presenceState: RoomPresence<unknown> | null = null;
  private readonly limiter = new FrameRateLimiter();
  private readonly members = new WeakMap<WebSocket, Member<S>>();
  private readonly departed = new WeakSet<WebSocket>();
  private readonly queue = new RoomQueue();
  /** When activity last asked for an occupancy report (in memory: only throttles the asking). */
  private activityNotedAt = 0;
  /** Inside `alarm()`, which reports the count itself once it has swept and closed sockets. */
  private alarmRunning = false;
  /** `room_kind` from storage, read once: metrics name it on hot paths (every publish). */
  private cachedKind: string | null = null;
  /** `room_id` from storage, read once (see `roomId`). */
  private cachedRoomId: string | null = null;
  /** This object's shard number (0: it is the room itself), from storage, read once. */
  private cachedShard: number | null = null;
  private registry: ShardRegistry | null = null;
  private replicaOf: ShardReplica<S> | null = null;
  private rosterOf: ShardRoster<S> | null = null;
  /** Holds the frames of one delivery pass for `?batch=1` sockets (see `inOnePass`). */
  private readonly frames = new FramePass(
    // A shard's stand-in collects sends for the shard, which coalesces them for its own socket.
    (ws) => !isShardSocket(ws) && this.memberOf(ws).batch === true,
    sendText,
  );
  private readonly lifetime = new SocketLifetime<S>({
    env: () => this.env,
    sockets: () => this.sockets(),
    socketsTagged: (tag) => this.socketsTagged(tag),
    memberOf: (ws) => this.memberOf(ws),
    saveMember: (ws, member) => this.saveMember(ws, member),
    send: (ws, frame) => this.send(ws, frame),
    sendError: (ws, status, errors, requestId) => this.sendError(ws, status, errors, requestId),
    closeSocket: (ws, reason, text) => this.closeSocket(ws, reason, text),
    meta: (key) => this.meta(key),
    setMeta: (key, value) => this.setMeta(key, value),
    ensureAlarmBy: (due) => this.ensureAlarmBy(due),
    reportError: (err, where) => this.reportError(err, where),
    credentialRefreshed: async (ws, member, previous) => {
      try {
        if (this.replica) {
          await this.replica.refreshed(ws, member, previous);
        } else {
          if (this.ownsPresence) {
            const user = this.presentAs(member);
            this.presence.store.update(user.id, user.info);
          }
          await this.onCredentialRefreshed(ws, member, previous);
        }
      } catch (err) {
        this.reportError(err, "onCredentialRefreshed");
      }
    },
  });

  /** The client events of this room kind. */
  protected abstract readonly commands: CommandTable<S>;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.stream = new EventStream(this.sql);
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS room_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    );
    // Answered by the runtime without waking the object; the timestamp feeds the idle sweep.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  // ---- hooks for room kinds -------------------------------------------------------------

  /**
   * Initial per-socket state for a new connection (may read storage or D1): it is known before
   * any `?since=` replay is rendered for the socket.
   */
  protected initialState(_request: Request, _caller: Caller): S | Promise<S> {
    return {} as S;
  }

  /**
   * Hibernation tags of a new socket (at most 10, each at most 256 characters), so a room can
   * reach a group with `socketsTagged(tag)` without reading every attachment.
   */
  protected socketTags(_member: Member<S>): string[] {
    return [];
  }

  /** Runs after a socket joined (and after any `?since=` replay). */
  protected onJoin(_ws: WebSocket, _member: Member<S>): void | Promise<void> {}

  /** Runs once when a socket leaves: closed, errored, or dropped by the idle sweep. */
  protected onLeave(_ws: WebSocket, _member: Member<S>): void | Promise<void> {}

  /**
   * Runs after an `auth` frame replaced the socket's credential (saved and answered), for rooms
   * that show or derive something from a socket's permissions: e.g. close the socket with
   * `accessRemoved` when the new permissions no longer admit it.
   */
  protected onCredentialRefreshed(
    _ws: WebSocket,
    _member: Member<S>,
    _previous: Member<S>,
  ): void | Promise<void> {}

  /** The full current state, sent as `resync` when a resume is older than the stream keeps. */
  protected snapshot(_member: Member<S>): unknown | Promise<unknown> {
    return {};
  }

  /**
   * A socket's own view of a stream event (e.g. hidden votes); null sends nothing to it.
   * Rooms that send the same frame to everyone leave it undefined: broadcasts then serialise once.
   */
  protected renderFor?(event: ServerEvent, member: Member<S>): ServerEvent | null;

  /**
   * The namespace of this room kind's objects, for a kind that spreads its sockets over shard
   * objects of the same class (contract §10); null keeps every socket in the room.
   */
  protected shardNamespace(): ShardNamespace | null {
    return null;
  }

  /** What counts against `ROOM_SHARD_SOCKETS` here (the bus adds its streams and long polls). */
  protected localListeners(): number {
    return this.sockets().length;
  }

  /** Members on this room's shards, as their reports left them (for presence across shards). */
  protected shardMembers(): Member<S>[] {
    return this.roster?.members() ?? [];
  }

  /**
   * For a kind whose own ordered items (not the stream) are fed to shards: the last one, read
   * right after its `onJoin` ran for a shard socket. null: the kind uses the stream.
   */
  protected orderedHead(): number | null {
    return null;
  }

  /** On a shard: a kind's own fed item (see `feedShards`) to its listeners, or to `only`. */
  protected onShardItem(_seq: number, _data: unknown, _only?: WebSocket): void {}

  /** Non-WebSocket requests forwarded by the Worker (SSE, long polls). */
  protected onRequest(_request: Request): Response | Promise<Response> {
    return Response.json({ error: { code: "not_found", message: "Not found" } }, { status: 404 });
  }

  /** How long a user whose last socket closed stays present (rooms that track presence). */
  protected presenceGraceMs(): number {
    return graceMsOf(undefined);
  }

  /** What presence keeps about a joining socket's user (poker: its permissions). */
  protected presenceInfo(_member: Member<S>): unknown {
    return null;
  }

  /**
   * Who is present changed: called at most once per PRESENCE_FRAME_MS however many joins and
   * leaves came in between, so a room filling at once sends a few frames, not one per join.
   */
  protected onPresenceChanged(): void | Promise<void> {}

  /** Room-specific alarm work; `nextAlarmAt` tells when it is next due (null: not needed). */
  protected onAlarm(): void | Promise<void> {}
  protected nextAlarmAt(): number | null {
    return null;
  }

  /**
   * What the room reports into `live_rooms` (contract §9). A room kind with listeners other than
   * sockets, or messages of its own, overrides it (the bus).
   */
  protected occupancy(): Occupancy {
    return { sockets: this.sockets().length, messages24h: null, lastEventAt: this.stream.lastAt() };
  }

  // ---- helpers for room kinds -----------------------------------------------------------

  /** Declares a command; its data type is inferred from the schema. */
  protected command<Schema extends z.ZodType>(def: {
    permission?: string;
    schema: Schema;
    concurrent?: boolean;
    handle(ctx: CommandContext<z.output<Schema>, S>): unknown | Promise<unknown>;
  }): SingleCommand<z.output<Schema>, S> {
    return def as SingleCommand<z.output<Schema>, S>;
  }

  /** Declares a command whose frames that queue up are handled together (see `BatchCommand`). */
  protected batchCommand<Schema extends z.ZodType>(def: {
    permission?: string;
    schema: Schema;
    handleBatch(frames: CommandContext<z.output<Schema>, S>[]): Promise<Outcome[]>;
  }): BatchCommand<z.output<Schema>, S> {
    return def as BatchCommand<z.output<Schema>, S>;
  }

  /** The room's external id (session id, thread id, ...), known since its first request. */
  protected get roomId(): string {
    // Read per frame and per rendered socket, and written once (`bind`): kept in memory.
    this.cachedRoomId ??= this.meta("room_id");
    return this.cachedRoomId ?? "";
  }

  protected meta(key: string): string | null {
    const row = this.sql
      .exec<{ value: string }>("SELECT value FROM room_meta WHERE key = ?", key)
      .toArray()[0];
    return row?.value ?? null;
  }

  protected setMeta(key: string, value: string): void {
    this.sql.exec(
      "INSERT INTO room_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }

  /** Records the room id (and kind); RPC entry points call it with the id the Worker routed by. */
  protected bind(roomId: string, kind?: string): void {
    if (this.roomId !== roomId) {
      this.setMeta("room_id", roomId);
      this.cachedRoomId = roomId;
    }
    if (kind !== undefined && this.kindName !== kind) {
      this.setMeta("room_kind", kind);
      this.cachedKind = kind;
    }
  }

  /**
   * Activity that may change the room's report (a publish, a long poll): asks for a report at
   * most once per window, without a storage call per event.
   */
  protected noteActivity(): void {
    const now = time.now();
    if (now - this.activityNotedAt < OCCUPANCY_REPORT_MS) return;
    this.activityNotedAt = now;
    this.ensureAlarmBy(now + OCCUPANCY_REPORT_MS).catch((err) =>
      this.reportError(err, "noteActivity"),
    );
  }

  /** Runs `fn` after every earlier command/RPC of this room has finished: one change at a time. */
  protected exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }

  /**
   * Like `exclusive`, but calls with the same `key` that queue up behind other work run as one
   * `handle(items)`, which returns one outcome per item (see `RoomQueue.batch`).
   */
  protected exclusiveBatch<T, R>(
    key: string,
    item: T,
    handle: (items: T[]) => Promise<Outcome<R>[]> | Outcome<R>[],
  ): Promise<R> {
    return this.queue.batch(key, item, handle);
  }

  /** The room keeps presence for itself and its shards; a shard reports its joins and leaves. */
  private get ownsPresence(): boolean {
    return this.tracksPresence && !this.isShard;
  }

  /** This object is a shard of the room (it holds sockets; the room is the writer). */
  protected get isShard(): boolean {
    this.cachedShard ??= Number(this.meta("shard_index") ?? 0);
    return this.cachedShard > 0;
  }

  /** Closes every socket of the room, its shards' too (after what was fed to them before). */
  protected closeAllSockets(code: number, reason: string): void {
    for (const ws of this.sockets()) {
      closeQuietly(ws, code, reason);
      this.leave(ws).catch((err) => this.reportError(err, "closeAllSockets"));
    }
    this.shards?.feed({ type: "close", code, reason });
  }

  /** Makes this object shard `n` of its room (a room hands it listeners by fetch or by RPC). */
  protected bindShard(n: number): void {
    if (this.meta("shard_index") !== String(n)) this.setMeta("shard_index", String(n));
    this.cachedShard = n;
  }

  /** The shard a new non-socket listener (a long poll) goes to, or null to keep it here. */
  protected pickShard(): number | null {
    return (
      this.shards?.pick(this.localListeners(), shardSocketLimit(this.env.ROOM_SHARD_SOCKETS)) ??
      null
    );
  }

  /** On the room: shard `n` has a listener now, so it is fed from this moment. */
  protected shardListening(n: number): void {
    this.shards?.joined(n);
  }

  /** On a shard: its listeners changed (not sockets, which report themselves). */
  protected reportToRoom(): void {
    this.replica?.report();
  }

  /** On a shard: the kind's own items fed after `seq` that it still holds, in order. */
  protected shardItemsAfter(seq: number): { seq: number; data: unknown }[] {
    return this.replica?.itemsAfter(seq) ?? [];
  }

  /** On the room: its shards that hold listeners, by number (none on a shard). */
  protected shardsListening(): number[] {
    return this.shards?.withListeners() ?? [];
  }

  /** Sends a kind's own ordered item to every shard with listeners, in order, in batches. */
  protected feedShards(seq: number, data: unknown): void {
    this.shards?.feed({ type: "item", seq, data });
  }

  /** The room's kind as the Worker routes it (`poker`, `bus`, …), the scope of its metrics. */
  protected get kindName(): string {
    this.cachedKind ??= this.meta("room_kind");
    return this.cachedKind ?? "unknown";
  }

  /** The room's presence; only for rooms that set `tracksPresence`. */
  protected get presence(): RoomPresence<unknown> {
    this.presenceState ??= new RoomPresence({
      env: () => this.env,
      sql: this.sql,
      where: () => ({ kind: this.kindName, id: this.roomId }),
      // Every socket the runtime still holds, closing ones too: their own leave handles them.
      localConns: () =>
        new Set(
          this.ctx
            .getWebSockets()
            .map((ws) => this.memberOf(ws).presenceConn)
            .filter((c) => c !== undefined),
        ),
      graceMs: () => this.presenceGraceMs(),
      changed: async () => {
        await this.onPresenceChanged();
      },
      ensureAlarmBy: (due) => this.ensureAlarmBy(due),
      reportError: (err, where) => this.reportError(err, where),
    });
    return this.presenceState;
  }

  /**
   * A page of who is present, with connection counts (`GET /api/rooms/:kind/:id/presence`);
   * null when this room kind does not track presence.
   */
  async presenceRoster(
    limit: number,
    offset: number,
  ): Promise<{ users: Omit<PresentUser, "info">[]; total: number } | null> {
    if (!this.ownsPresence) return null;
    const store = this.presence.store;
    const users = store.users(limit, offset).map(({ info: _, ...user }) => user);
    return { users, total: store.count() };
  }

  /** Writes a metric point of this room (`src/platform/metrics.ts`). */
  protected metric(metric: Metric): void {
    record(this.env, metric);
  }

  /** `<Class>:<room id>`, the `room` field of this room's log lines. */
  protected get logName(): string {
    return `${this.constructor.name}:${this.roomId}`;
  }

  /** Open sockets of this room, optionally without one. */
  protected sockets(except?: WebSocket): WebSocket[] {
    return this.ctx
      .getWebSockets()
      .filter((ws) => ws !== except && ws.readyState === WebSocket.OPEN && !this.departed.has(ws));
  }

  /** Open sockets accepted with `tag` (see `socketTags`). */
  protected socketsTagged(tag: string): WebSocket[] {
    return this.ctx
      .getWebSockets(tag)
      .filter((ws) => ws.readyState === WebSocket.OPEN && !this.departed.has(ws));
  }

  protected memberOf(ws: WebSocket): Member<S> {
    let member = this.members.get(ws);
    if (!member) {
      member = ws.deserializeAttachment() as Member<S>;
      this.members.set(ws, member);
    }
    return member;
  }

  protected saveMember(ws: WebSocket, member: Member<S>): void {
    this.members.set(ws, member);
    ws.serializeAttachment(member);
  }

  protected can(member: Member<S>, permission: string): boolean {
    return memberCan(member, permission);
  }

  /** How a frame becomes text; a room kind with its own canonical form overrides this. */
  protected serialize(frame: ServerEvent | Reply): string {
    return JSON.stringify(frame);
  }

  /** Sends a frame to one socket; a socket that went away meanwhile is ignored. */
  protected send(ws: WebSocket, frame: ServerEvent | Reply): void {
    this.frames.send(ws, this.serialize(frame));
  }

  /** Sends text already serialised (a kind's own fan-out); held while a pass is open. */
  protected sendSerialized(ws: WebSocket, text: string): void {
    this.frames.send(ws, text);
  }

  /**
   * Runs `fn` (synchronous) as one delivery pass: a `?batch=1` socket gets everything `fn` sends
   * it as one JSON array (contract §2). For a group commit, a batch publish, a catch-up.
   * `frames`, when known, is the most frames it sends one socket (see `FramePass.run`).
   */
  protected inOnePass<T>(fn: () => T, frames?: number): T {
    return this.frames.run(fn, frames);
  }

  /** Sends an event outside the ordered stream (no `seq`) to every open socket but `except`. */
  protected broadcast(event: string, data: unknown, except?: WebSocket): void {
    const text = this.serialize({ event, data });
    for (const ws of this.sockets(except)) this.frames.send(ws, text);
    this.shards?.feed({ type: "broadcast", text, except: except && shardSocketId(except) });
  }

  /** Appends an event to the ordered stream (durably, with its `seq`) and sends it to everyone. */
  protected publish(event: string, data: unknown): ServerEvent {
    const frame = this.stream.append(event, data);
    const targets = this.sockets();
    this.deliver(frame, targets);
    this.shards?.feed({ type: "event", frame });
    this.metric({ name: "room.publish", kind: this.kindName, deliveries: targets.length });
    this.noteActivity();
    return frame;
  }

  // ---- runtime entry points -------------------------------------------------------------

  override async fetch(request: Request): Promise<Response> {
    const roomId = request.headers.get(ROOM_ID_HEADER);
    if (roomId) this.bind(roomId, request.headers.get(ROOM_KIND_HEADER) ?? undefined);
    const shard = request.headers.get(SHARD_HEADER);
    if (shard) this.bindShard(Number(shard));
    try {
      if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
        return await this.onRequest(request);
      }
      return await this.accept(request);
    } catch (err) {
      const api = this.reportError(err, "fetch");
      return Response.json(api.toBody(), { status: api.status });
    }
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    try {
      await this.handleFrame(ws, message);
    } catch (err) {
      const api = this.reportError(err, "webSocketMessage");
      this.sendError(ws, api.status, errorsOf(api));
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      await this.leave(ws);
    } catch (err) {
      this.reportError(err, "webSocketClose");
    } finally {
      // The hibernation API does not answer the close frame itself; 1005/1006/1015 are reserved.
      const reply = code === 1005 || code === 1006 || code === 1015 ? 1000 : code;
      closeQuietly(ws, reply, reason);
    }
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    try {
      await this.leave(ws);
    } catch (err) {
      this.reportError(err, "webSocketError");
    }
    this.reportError(error, "webSocketError");
  }

  override async alarm(): Promise<void> {
    this.alarmRunning = true;
    try {
      await this.sweepIdleSockets();
      await this.lifetime.enforce();
      // A shard's count reaches the room with its reports; the room's timers are the room's.
      if (!this.isShard) {
        // After the sweep, so the sockets it dropped are not counted; a failed write is retried.
        await this.reportOccupancy().catch((err) => this.reportError(err, "reportOccupancy"));
        this.stream.prune();
        if (this.ownsPresence) await this.presence.onAlarm();
        await this.onAlarm();
      }
    } catch (err) {
      this.reportError(err, "alarm");
    } finally {
      this.alarmRunning = false;
      await this.scheduleAlarm();
    }
  }

  // ---- shards (contract §10; the design is in docs/ARCHITECTURE.md) ----------------------

  /** Shard → room: a socket joined the shard; answers its replay and what `onJoin` sent it. */
  async shardConnect(input: ShardConnect<S>): Promise<ShardConnected<S>> {
    this.shards?.joined(input.shard);
    const proxy = new ShardSocket(input.socketId, input.member);
    const ws = proxy.asWebSocket();
    let from = this.stream.head();
    let resync: ServerEvent | null = null;
    const since = input.since;
    if (since !== null) {
      const kept = Number.isSafeInteger(since) && since >= 0 && this.stream.after(since) !== null;
      if (kept) from = since;
      else resync = { event: "resync", data: await this.snapshot(input.member), seq: from };
    }
    const joining = this.onJoin(ws, input.member);
    const itemHead = this.orderedHead();
    await joining;
    // Read in one step with the head: what is published later reaches the shard by its feed.
    const events = this.stream.after(from) ?? [];
    const head = itemHead ?? events.at(-1)?.seq ?? from;
    return { resync, events, head, ...proxy.effects() };
  }

  /** Shard → room: a command of a shard's socket, checked again here, run as the room's own. */
  async shardCommand(input: ShardCommand<S>): Promise<ShardCommandResult<S>> {
    const proxy = new ShardSocket(input.socketId, input.member);
    const ws = proxy.asWebSocket();
    const checked = this.check(input.member, input.event, input.data);
    const outcome =
      "errors" in checked ? checked : await this.execute(ws, input.event, checked, input.requestId);
    return { ...outcome, ...proxy.effects() };
  }

  /** Shard → room: a shard socket's credential was refreshed; the room kind's hook runs here. */
  async shardRefreshed(input: ShardCommand<S> & { previous: Member<S> }): Promise<ShardEffects<S>> {
    const proxy = new ShardSocket(input.socketId, input.member);
    await this.onCredentialRefreshed(proxy.asWebSocket(), input.member, input.previous);
    return proxy.effects();
  }

  /** Shard → room: its count and its joins and leaves since the last report. */
  async shardReport(report: ShardReport<S>): Promise<void> {
    this.shards?.report(report);
    const changed = report.joined.length || report.left.length || report.present;
    if (changed && this.roster?.apply(report) !== false) {
      if (this.ownsPresence) await this.presence.reported(report, (m) => this.presentAs(m));
    }
    // The alarm writes the room's count with its shards'.
    await this.ensureAlarmBy(time.now() + OCCUPANCY_REPORT_MS);
  }

  /** Shard → room: stream events after `seq` (a shard filling a gap), null when not kept. */
  async shardEventsAfter(seq: number): Promise<ServerEvent[] | null> {
    return this.stream.after(seq);
  }

  /** Room → shard: a batch of the room's feed, in order. */
  async shardFeed(items: ShardItem[]): Promise<void> {
    await this.replica?.feed(items);
  }

  /** The room's side of its shards; null on a shard, and for kinds that do not shard. */
  private get shards(): ShardRegistry | null {
    if (this.registry || this.isShard) return this.registry;
    const ns = this.shardNamespace();
    if (!ns) return null;
    this.registry = new ShardRegistry(
      this.sql,
      (n) => peer<S>(ns, shardName(this.roomId, n)),
      () => this.logName,
    );
    return this.registry;
  }

  /** Who is on the room's shards; null on a shard, and for kinds that do not shard. */
  private get roster(): ShardRoster<S> | null {
    if (this.rosterOf || !this.shards) return this.rosterOf;
    this.rosterOf = new ShardRoster<S>(this.sql);
    return this.rosterOf;
  }

  /** A shard's side: its feed, its joining sockets and its reports; null on the room. */
  private get replica(): ShardReplica<S> | null {
    if (this.replicaOf || !this.isShard) return this.replicaOf;
    const ns = this.shardNamespace();
    if (!ns) return null;
    this.replicaOf = new ShardReplica<S>({
      shard: this.cachedShard ?? 0,
      room: () => peer<S>(ns, this.roomId),
      sockets: () => this.sockets(),
      memberOf: (ws) => this.memberOf(ws),
      saveMember: (ws, member) => this.saveMember(ws, member),
      socketIdOf: (ws) => this.memberOf(ws).sid,
      listeners: () => this.localListeners(),
      deliver: (frames, targets) => this.deliver(frames, targets),
      deliverItem: (seq, data, only) => this.onShardItem(seq, data, only),
      sendText: (ws, text) => this.frames.send(ws, text),
      inOnePass: (fn) => this.inOnePass(fn),
      close: (ws, code, reason) => {
        closeQuietly(ws, code, reason);
        this.leave(ws).catch((err) => this.reportError(err, "shard close"));
      },
      failure: (err, where) => {
        const api = this.reportError(err, where);
        return { status: api.status, errors: errorsOf(api) };
      },
      resumeAll: () => this.closeAllSockets(RESUME_CLOSE_CODE, "missed events: resume with ?since"),
      closeAll: (code, reason) => this.closeAllSockets(code, reason),
      reportError: (err, where) => this.reportError(err, where),
    });
    return this.replicaOf;
  }

  /** What the room writes into `live_rooms`: its own listeners plus its shards'. */
  private reportedOccupancy(): Occupancy {
    const own = this.occupancy();
    const shards = this.shards?.totals() ?? { sockets: 0, shards: 0 };
    return { ...own, sockets: own.sockets + shards.sockets, shards: 1 + shards.shards };
  }

  // ---- internals ------------------------------------------------------------------------

  private async accept(request: Request): Promise<Response> {
    const shards = this.shards;
    if (shards) {
      const n = shards.pick(this.localListeners(), shardSocketLimit(this.env.ROOM_SHARD_SOCKETS));
      if (n !== null) return shards.forward(n, request);
    }
    const caller = callerFromHeaders(request.headers);
    const member = memberFromCaller(caller, await this.initialState(request, caller));
    if (wantsBatches(request)) member.batch = true;
    // After the last await before accepting: sockets accepted meanwhile count, the cap is exact.
    const refusal = this.lifetime.refusal(member);
    if (refusal) return Response.json(refusal.toBody(), { status: refusal.status });
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, [...this.lifetime.tagsOf(member), ...this.socketTags(member)]);
    if (this.ownsPresence) member.presenceConn = `${LOCAL_CONN_PREFIX}${crypto.randomUUID()}`;
    this.saveMember(server, member);
    this.metric({ name: "socket.opened", kind: this.kindName });
    if (member.presenceConn)
      await this.presence.joined(member.presenceConn, this.presentAs(member));

    const since = new URL(request.url).searchParams.get("since");
    if (this.replica) {
      const joined = await this.replica.join(server, member, since === null ? null : Number(since));
      if (joined.close) {
        closeQuietly(server, joined.close.code, joined.close.reason);
        return new Response(null, { status: 101, webSocket: client });
      }
    } else {
      if (since !== null) await this.resume(server, member, Number(since));
      await this.onJoin(server, member);
    }
    // A new socket cannot be idle before IDLE_TIMEOUT_MS, nor need its credential checked
    // before its own dues; the alarm then works out the rest, so accepting stays O(1) however
    // many sockets the room holds.
    const due = [
      this.dropsSilentSockets ? time.now() + IDLE_TIMEOUT_MS : null,
      this.lifetime.dueAt(member),
    ].filter((at) => at !== null);
    // Joins are counted in batches: the alarm writes the room's count once per window.
    due.push(time.now() + OCCUPANCY_REPORT_MS);
    await this.ensureAlarmBy(Math.min(...due));
    return new Response(null, { status: 101, webSocket: client });
  }

  private async resume(ws: WebSocket, member: Member<S>, since: number): Promise<void> {
    const missed = Number.isSafeInteger(since) && since >= 0 ? this.stream.after(since) : null;
    if (missed === null) {
      // The snapshot is the state as of the stream's head: clients continue after that seq.
      const seq = this.stream.head();
      this.send(ws, { event: "resync", data: await this.snapshot(member), seq });
      return;
    }
    this.deliver(missed, [ws]);
  }

  /** Several frames (a replay, a shard's catch-up) reach a `?batch=1` socket as one array. */
  private deliver(frames: ServerEvent | ServerEvent[], targets: WebSocket[]): void {
    const list = Array.isArray(frames) ? frames : [frames];
    this.inOnePass(() => this.deliverEach(list, targets), list.length);
  }

  private deliverEach(list: ServerEvent[], targets: WebSocket[]): void {
    const render = this.renderFor?.bind(this);
    for (const frame of list) {
      // Sockets that get the frame as stored share one serialisation; own views are serialised each.
      let shared: string | undefined;
      for (const ws of targets) {
        const view = render ? render(frame, this.memberOf(ws)) : frame;
        if (view === frame) {
          shared ??= this.serialize(frame);
          this.frames.send(ws, shared);
        } else if (view) {
          this.send(ws, view);
        }
      }
    }
  }

  private async handleFrame(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (typeof message !== "string") {
      const tooBig = message.byteLength > MAX_FRAME_BYTES;
      this.sendError(
        ws,
        tooBig ? 413 : 400,
        [tooBig ? "Frame exceeds 64 KiB" : "Binary frames are not supported; send JSON text"],
        requestIdOf(new TextDecoder().decode(message)),
      );
      return;
    }
    if (exceedsFrameLimit(message)) {
      this.sendError(ws, 413, ["Frame exceeds 64 KiB"], requestIdOf(message));
      return;
    }
    if (!this.limiter.allow(ws)) {
      this.sendError(ws, 429, ["Too many frames; slow down"], requestIdOf(message));
      return;
    }
    const parsed = parseClientFrame(message);
    if (!parsed.ok) {
      this.sendError(ws, parsed.status, parsed.errors, parsed.requestId);
      return;
    }
    const { frame } = parsed;
    const member = this.touch(ws);
    if (this.lifetime.expired(member)) {
      // The alarm closes it at expiry; a frame that comes first is not served either.
      this.sendError(ws, 401, ["The credential has expired"], frame.requestId);
      await this.closeSocket(ws, "credentialExpired", "credential expired");
      return;
    }
    // Before the room's own commands, so no room kind can shadow the refresh.
    if (frame.event === AUTH_EVENT) {
      await this.lifetime.refresh(ws, frame);
      return;
    }
    const checked = this.check(member, frame.event, frame.data);
    if ("errors" in checked) {
      this.sendError(ws, checked.status, checked.errors, frame.requestId);
      return;
    }
    const outcome = this.replica
      ? await this.replica.command(ws, frame.event, frame.data, frame.requestId)
      : await this.execute(ws, frame.event, checked, frame.requestId);
    if (outcome.status !== 200) {
      this.sendError(ws, outcome.status, outcome.errors, frame.requestId);
    } else if (frame.requestId !== undefined) {
      const reply: Reply = { request_id: frame.requestId, status: 200, errors: [] };
      if (outcome.data !== undefined) reply.data = outcome.data;
      this.send(ws, reply);
    }
  }

  /** The event's command, permission and schema: what every object checks before running it. */
  private check(
    member: Member<S>,
    event: string,
    raw: unknown,
  ): { command: Command<unknown, S>; data: unknown } | { status: number; errors: string[] } {
    const command = Object.hasOwn(this.commands, event) ? this.commands[event] : undefined;
    if (!command) return { status: 400, errors: [`Unknown event '${event}'`] };
    if (command.permission && !this.can(member, command.permission)) {
      logger.warn(
        `Refused '${event}' from ${member.userId ?? member.name}: needs ${command.permission}`,
        {
          event: "frame.forbidden",
          room: this.logName,
          status: 403,
        },
      );
      return { status: 403, errors: [`'${event}' needs the '${command.permission}' permission`] };
    }
    const data = command.schema.safeParse(raw);
    if (!data.success) {
      return { status: 400, errors: issuesToErrors(data.error).map((e) => `data.${e}`) };
    }
    return { command, data: data.data };
  }

  /** Runs a checked command; its answer as the reply's status, errors and data. */
  private async execute(
    ws: WebSocket,
    event: string,
    { command, data }: { command: Command<unknown, S>; data: unknown },
    requestId?: RequestId,
  ): Promise<{ status: number; errors: string[]; data?: unknown }> {
    try {
      const ctx = { ws, member: this.memberOf(ws), data, requestId };
      const result = await this.runCommand(event, command, ctx);
      return { status: 200, errors: [], data: result };
    } catch (err) {
      const api = this.reportError(err, "webSocketMessage");
      return { status: api.status, errors: errorsOf(api) };
    }
  }

  private runCommand<D>(
    event: string,
    command: Command<D, S>,
    ctx: CommandContext<D, S>,
  ): Promise<unknown> {
    // A queued frame sees the socket as it is when its turn comes: an earlier frame of the same
    // socket may have saved its state meanwhile (two subscribes sent back to back).
    const current = <C extends CommandContext<D, S>>(c: C): C => ({
      ...c,
      member: this.memberOf(c.ws),
    });
    if ("handleBatch" in command) {
      return this.exclusiveBatch(`command:${event}`, ctx, (frames) =>
        command.handleBatch(frames.map(current)),
      );
    }
    if (command.concurrent) return Promise.resolve(command.handle(ctx));
    return this.exclusive(() => command.handle(current(ctx)));
  }

  private touch(ws: WebSocket): Member<S> {
    const member = this.memberOf(ws);
    const now = time.now();
    if (now - member.lastSeen >= LAST_SEEN_RESOLUTION_MS) {
      this.saveMember(ws, { ...member, lastSeen: now });
    }
    return this.memberOf(ws);
  }

  private sendError(ws: WebSocket, status: number, errors: string[], requestId?: RequestId): void {
    this.metric({ name: "frame.refused", kind: this.kindName, status });
    if (requestId !== undefined) this.send(ws, { request_id: requestId, status, errors });
    else this.send(ws, { event: "error", data: { status, errors } });
  }

  private async leave(ws: WebSocket): Promise<void> {
    // A stand-in closed by a room hook: the shard that holds the socket runs its leave.
    if (isShardSocket(ws) || this.departed.has(ws)) return;
    this.departed.add(ws);
    this.metric({ name: "socket.closed", kind: this.kindName });
    if (this.replica) {
      // The room's leave hooks run in the room, from this shard's report.
      this.replica.noteLeave(this.memberOf(ws));
      return;
    }
    const conn = this.memberOf(ws).presenceConn;
    if (conn) await this.presence.left(conn, this.closedByServer.has(ws));
    await this.onLeave(ws, this.memberOf(ws));
    // Leaves are counted in batches too; the alarm's own leaves are reported by that alarm.
    if (!this.alarmRunning) await this.ensureAlarmBy(time.now() + OCCUPANCY_REPORT_MS);
  }

  /**
   * Writes the room's count to D1 when it differs from the last one written; only ever from the
   * alarm, so a room writes at most once per OCCUPANCY_REPORT_MS and a hibernated room, whose
   * count cannot change, is never woken for it.
   */
  private async reportOccupancy(): Promise<void> {
    const kind = this.meta("room_kind");
    const id = this.roomId;
    if (!kind || !id) return;
    const occupancy = this.reportedOccupancy();
    const signature = occupancySignature(occupancy);
    if (signature === this.meta("occupancy_reported")) return;
    await writeOccupancy(this.env.DB, kind, id, occupancy);
    this.setMeta("occupancy_reported", signature);
  }

  /** A report the alarm could not write yet (D1 failed, or the count changed while writing). */
  private occupancyPending(): boolean {
    if (!this.meta("room_kind") || !this.roomId) return false;
    return occupancySignature(this.reportedOccupancy()) !== this.meta("occupancy_reported");
  }

  /** Who a socket is in the room's presence: one entry per user however many sockets. */
  protected presentAs(member: Member<S>): { id: string; name: string; info: unknown } {
    return { id: member.userId ?? "admin", name: member.name, info: this.presenceInfo(member) };
  }

  private lastActivity(ws: WebSocket): number {
    const pinged = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
    return Math.max(this.memberOf(ws).lastSeen, pinged);
  }

  private async sweepIdleSockets(now = time.now()): Promise<void> {
    if (!this.dropsSilentSockets) return;
    for (const ws of this.sockets()) {
      if (now - this.lastActivity(ws) < IDLE_TIMEOUT_MS) continue;
      await this.closeSocket(ws, "idle", "idle timeout");
    }
  }

  /** Closes a socket with one of the protocol's codes and runs its leave hook now. */
  protected async closeSocket(ws: WebSocket, reason: CloseReason, text: string): Promise<void> {
    this.closedByServer.add(ws);
    closeQuietly(ws, CLOSE_CODES[reason].code, text);
    await this.leave(ws);
  }

  /**
   * One alarm for the idle sweep, the sockets' credentials and the room kind's own timers:
   * whichever is due first. A room whose sockets neither go idle nor expire sets none for them.
   */
  private async scheduleAlarm(): Promise<void> {
    const due: number[] = [];
    const soon = time.now() + 1_000;
    const open = this.sockets();
    if (this.dropsSilentSockets && open.length) {
      const oldest = Math.min(...open.map((ws) => this.lastActivity(ws)));
      due.push(Math.max(oldest + IDLE_TIMEOUT_MS, soon));
    }
    const credentials = this.lifetime.nextDueAt(open);
    if (credentials !== null) due.push(Math.max(credentials, soon));
    const own = this.isShard ? null : this.nextAlarmAt();
    if (own !== null) due.push(own);
    if (!this.isShard && this.occupancyPending()) due.push(soon + OCCUPANCY_REPORT_MS);
    const presence = this.ownsPresence ? this.presence.dueAt() : null;
    if (presence !== null) due.push(presence);
    if (!due.length) return;
    await this.ensureAlarmBy(Math.min(...due));
  }

  /**
   * The one place a room sets its alarm. By default it makes the alarm fire no later than `due`
   * (set when there is none, a later one, or a stale one already past); `ifNone` sets `due` only
   * when no alarm is set at all.
   */
  protected async ensureAlarmBy(due: number, ifNone = false): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    const set = ifNone
      ? current === null
      : current === null || current > due || current < time.now();
    if (set) await this.ctx.storage.setAlarm(due);
  }

  /** Logs unknown errors once with the room's name; returns what the client may see. */
  protected reportError(err: unknown, where: string): ApiError {
    const api = toApiError(err);
    if (api.code === "internal") {
      const entry = {
        message: `Error in ${this.logName} ${where}`,
        event: "room.error",
        room: this.logName,
        error: err,
      };
      logger.error(entry.message, entry);
      recordError(this.env, entry, (p) => this.ctx.waitUntil(p));
    }
    return api;
  }
}

/** The namespace of a room kind's objects, as far as naming the room and its shards needs. */
export interface ShardNamespace {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): unknown;
}

/** A shard that lost part of the room's feed closes its sockets so: clients resume with `?since`. */
const RESUME_CLOSE_CODE = 1012;

/** The room object, or one of its shards, by name; typed for the shard RPCs. */
function peer<S>(ns: ShardNamespace, name: string): ShardPeer<S> {
  return ns.get(ns.idFromName(name)) as unknown as ShardPeer<S>;
}

/** Closes a socket; one already closing or closed throws, which changes nothing here. */
export function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // already closing or closed
  }
}

function sendText(ws: WebSocket, text: string): void {
  try {
    ws.send(text);
  } catch {
    // The socket closed between listing and sending; its close handler cleans up.
  }
}

function errorsOf(err: ApiError): string[] {
  const details = err.details;
  if (details && typeof details === "object" && !Array.isArray(details)) {
    const entries = Object.entries(details as Record<string, unknown>);
    if (entries.length) {
      return entries.flatMap(([field, problems]) =>
        (Array.isArray(problems) ? problems : [problems]).map((p) => `${field}: ${String(p)}`),
      );
    }
  }
  return [err.message];
}

/** The request id of a frame refused before it is handled (size, binary, rate limit). */
function requestIdOf(message: string): RequestId | undefined {
  const parsed = parseClientFrame(message);
  if (parsed.ok) return parsed.frame.requestId;
  return parsed.requestId;
}
