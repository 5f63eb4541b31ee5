/**
 * Switchboard room client for browsers and Node (no Workers types).
 *
 * Connects to `/ws/<kind>/<id>`, asks `token()` for a fresh token on every attempt, keeps the
 * connection alive with `ping`, reconnects with full-jitter exponential backoff and resumes with
 * `?since=<last seq>`, dropping events it has already seen. Cloudflare closes every WebSocket on
 * each deploy, so this resume is the normal path, not an edge case.
 *
 * A socket lives only as long as its token: on `token_expiring` the client asks `token()` again
 * and sends it in band (`auth`); if that fails the server closes with 4401 at expiry and the
 * client reconnects with another `token()`. It never reconnects after the final close codes
 * (access removed, room deleted, room ended, too many sockets): it reads them from the protocol
 * module's one close-code table (`CLOSE_CODES`, `FINAL_CLOSE_CODES`).
 */

import { AUTH_EVENT, type AuthReply, TOKEN_EXPIRING_EVENT } from "../protocol/base-events";
import { BATCH_ON, BATCH_PARAM, unpackFrames } from "../protocol/batched-frames";
import { CLOSE_CODES, FINAL_CLOSE_CODES } from "../protocol/close-codes";
import type { ClientEvents, ClientReplies, RoomKindName, ServerEvents } from "../protocol/events";
import type { Reply, RequestId, ServerEvent } from "../protocol/frames";

// Values only from the protocol files that import nothing: the SDK and the page bundle no zod.
export {
  AUTH_EVENT,
  ERROR_EVENT,
  RESYNC_EVENT,
  TOKEN_EXPIRING_EVENT,
} from "../protocol/base-events";
export { CLOSE_CODES, type CloseReason, FINAL_CLOSE_CODES } from "../protocol/close-codes";
export type { ClientEvents, ClientReplies, RoomKindName, ServerEvents } from "../protocol/events";
export type { ErrorFrame, Reply, RequestId } from "../protocol/frames";

export type ServerFrame<D = unknown> = ServerEvent<D>;

/** A room's events as a client sees them: server event → data, client event → data, replies. */
export interface RoomProtocol {
  server: object;
  client: object;
  replies: object;
}

/** The protocol of one room kind (`/ws/<kind>/<id>`), from the protocol module's maps. */
export interface KindProtocol<K extends RoomKindName> {
  server: ServerEvents[K];
  client: ClientEvents[K];
  replies: ClientReplies[K];
}

/** Any events with any data: a client of a room kind the protocol module does not describe. */
export interface UntypedProtocol {
  // biome-ignore lint/suspicious/noExplicitAny: untyped rooms let callers read any field.
  server: Record<string, any>;
  // biome-ignore lint/suspicious/noExplicitAny: untyped rooms take any data.
  client: Record<string, any>;
  // biome-ignore lint/suspicious/noExplicitAny: untyped rooms answer any data.
  replies: Record<string, any>;
}

/** The events the client itself emits, beside the room's. */
export interface ClientLocalEvents {
  open: Record<string, never>;
  close: { code: number };
  state: { state: ConnectionState };
  token_refreshed: AuthReply;
  token_refresh_failed: { error: string };
}

export type EventName<P extends RoomProtocol> = (keyof ClientLocalEvents | keyof P["server"]) &
  string;
export type EventData<P extends RoomProtocol, E> = E extends keyof ClientLocalEvents
  ? ClientLocalEvents[E]
  : E extends keyof P["server"]
    ? P["server"][E]
    : never;
export type CommandName<P extends RoomProtocol> = keyof P["client"] & string;
/** The data argument: optional when the event's data may be empty (`{}`). */
type DataArg<P extends RoomProtocol, E extends keyof P["client"]> =
  Record<never, never> extends P["client"][E] ? [data?: P["client"][E]] : [data: P["client"][E]];
export type ReplyData<P extends RoomProtocol, E> = E extends keyof P["replies"]
  ? P["replies"][E]
  : undefined;

/**
 * The subset of the WebSocket API the client needs (browser, `ws`, workerd all have it). One
 * signature per event, so the DOM's and `ws`'s generic `addEventListener` both fit it.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (event: { code: number }) => void): void;
  addEventListener(type: "open" | "error", listener: () => void): void;
}

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export interface RoomClientOptions {
  /** `https://host/ws/poker/<id>` (or `wss://…`); query parameters are kept. */
  url: string;
  /** Called before every attempt and when the server warns that the token expires soon. */
  token: () => string | Promise<string>;
  /** A WebSocket constructor; defaults to the global one (pass `ws` on Node 20). */
  WebSocket?: new (
    url: string,
  ) => WebSocketLike;
  /** Opens the socket yourself (tests, custom transports); wins over `WebSocket`. */
  connect?: (url: string) => WebSocketLike | Promise<WebSocketLike>;
  /** Resume from this seq on the first connection (e.g. stored across page loads). */
  since?: number;
  keepaliveMs?: number;
  /** No frame within this long after a ping: the connection is considered dead. */
  pongTimeoutMs?: number;
  requestTimeoutMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /**
   * Close codes after which reconnecting is pointless (the room ended, access was removed, too
   * many sockets); defaults to the protocol's `FINAL_CLOSE_CODES`.
   */
  terminalCloseCodes?: number[];
  random?: () => number;
}

// biome-ignore lint/suspicious/noExplicitAny: handlers narrow the data of their own event.
type Handler = (data: any, frame: ServerFrame) => void;

const OPEN = 1;

interface OnlineEvents {
  addEventListener(type: "online", listener: () => void): void;
  removeEventListener(type: "online", listener: () => void): void;
}

/** The browser window, to retry at once when the network comes back; undefined elsewhere. */
function browserWindow(): OnlineEvents | undefined {
  return (globalThis as { window?: OnlineEvents }).window;
}

/**
 * `RoomClient<KindProtocol<"poker">>` knows the poker room's events: `on("story_changed", d =>
 * d.votes)` is typed, and so are `request`'s data and reply. Without a type argument any event
 * and any data are accepted.
 */
export class RoomClient<P extends RoomProtocol = UntypedProtocol> {
  state: ConnectionState = "connecting";
  /** The last ordered-stream seq received; resumes start after it. */
  lastSeq: number | null;

  private socket: WebSocketLike | null = null;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly pending = new Map<
    RequestId,
    {
      resolve: (r: Reply) => void;
      reject: (e: Error) => void;
      timer: ReturnType<typeof setTimeout>;
    }
  >();
  private outbox: string[] = [];
  private attempt = 0;
  private stopped = false;
  private nextRequestId = 1;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private keepaliveTimer: ReturnType<typeof setInterval> | null = null;
  private deadTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly options: Required<Omit<RoomClientOptions, "WebSocket" | "connect" | "since">> &
    Pick<RoomClientOptions, "WebSocket" | "connect">;
  private readonly onOnline = () => this.retryNow();

  constructor(options: RoomClientOptions) {
    this.options = {
      keepaliveMs: 20_000,
      pongTimeoutMs: 10_000,
      requestTimeoutMs: 10_000,
      backoffBaseMs: 500,
      backoffMaxMs: 30_000,
      terminalCloseCodes: [...FINAL_CLOSE_CODES],
      random: Math.random,
      ...options,
    };
    this.lastSeq = options.since ?? null;
    browserWindow()?.addEventListener("online", this.onOnline);
    void this.open();
  }

  /**
   * Subscribes to a server event, or to one of the client's own: `open`, `close` (`{code}`),
   * `state`, `token_refreshed` (`{expires_at}`) and `token_refresh_failed` (`{error}`).
   */
  on<E extends EventName<P>>(
    event: E,
    handler: (data: EventData<P, E>, frame: ServerFrame<EventData<P, E>>) => void,
  ): () => void;
  /** An event the room's protocol does not list, with the data type the caller names. */
  on<D>(event: string, handler: (data: D, frame: ServerFrame<D>) => void): () => void;
  on(event: string, handler: Handler): () => void {
    const set = this.handlers.get(event) ?? new Set();
    set.add(handler);
    this.handlers.set(event, set);
    return () => set.delete(handler);
  }

  /** Sends a frame without waiting for a reply; queued while reconnecting. */
  send<E extends CommandName<P>>(event: E, ...[data]: DataArg<P, E>): void {
    this.transmit(JSON.stringify({ event, data: data ?? {} }));
  }

  /** Sends a frame with a `request_id` and resolves with its reply (rejects on timeout). */
  request<E extends CommandName<P>>(
    event: E,
    ...[data]: DataArg<P, E>
  ): Promise<Reply<ReplyData<P, E>>> {
    return this.call(event, data ?? {}) as Promise<Reply<ReplyData<P, E>>>;
  }

  close(): void {
    this.stopped = true;
    this.setState("closed");
    this.clearTimers();
    browserWindow()?.removeEventListener("online", this.onOnline);
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error("Client closed"));
    }
    this.pending.clear();
    this.socket?.close(1000, "client closed");
  }

  private call(event: string, data: unknown): Promise<Reply> {
    const requestId = this.nextRequestId++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error(`No reply to '${event}' within ${this.options.requestTimeoutMs} ms`));
      }, this.options.requestTimeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      this.transmit(JSON.stringify({ event, data, request_id: requestId }));
    });
  }

  private transmit(text: string): void {
    if (this.socket?.readyState === OPEN) this.socket.send(text);
    else this.outbox.push(text);
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    let socket: WebSocketLike;
    try {
      const url = new URL(this.options.url.replace(/^http/, "ws"));
      url.searchParams.set("token", await this.options.token());
      if (this.lastSeq !== null) url.searchParams.set("since", String(this.lastSeq));
      // Several frames of one delivery pass come as one array (fewer frames to wake up for).
      url.searchParams.set(BATCH_PARAM, BATCH_ON);
      socket = await this.createSocket(url.toString());
    } catch {
      this.scheduleRetry();
      return;
    }
    if (this.stopped) {
      socket.close(1000, "client closed");
      return;
    }
    this.socket = socket;
    socket.addEventListener("message", (e) => this.receive(socket, e.data));
    socket.addEventListener("close", (e) => this.lost(socket, e.code));
    socket.addEventListener("error", () => this.lost(socket, 1006));
    if (socket.readyState === OPEN) this.opened(socket);
    else socket.addEventListener("open", () => this.opened(socket));
  }

  private createSocket(url: string): WebSocketLike | Promise<WebSocketLike> {
    if (this.options.connect) return this.options.connect(url);
    const Ctor =
      this.options.WebSocket ??
      (globalThis as { WebSocket?: new (u: string) => WebSocketLike }).WebSocket;
    if (!Ctor) throw new Error("No WebSocket implementation: pass options.WebSocket");
    return new Ctor(url);
  }

  private opened(socket: WebSocketLike): void {
    if (socket !== this.socket) return;
    this.attempt = 0;
    this.setState("open");
    const queued = this.outbox;
    this.outbox = [];
    for (const text of queued) socket.send(text);
    this.keepaliveTimer = setInterval(() => this.ping(socket), this.options.keepaliveMs);
    this.emit("open", {}, { event: "open", data: {} });
  }

  private ping(socket: WebSocketLike): void {
    if (socket.readyState !== OPEN) return;
    socket.send("ping");
    if (this.deadTimer) return;
    this.deadTimer = setTimeout(() => {
      // No pong: the path is dead even if the socket looks open (e.g. a sleeping laptop).
      socket.close(CLOSE_CODES.idle.code, "keepalive timeout");
      this.lost(socket, CLOSE_CODES.idle.code);
    }, this.options.pongTimeoutMs);
  }

  private receive(socket: WebSocketLike, raw: unknown): void {
    if (socket !== this.socket) return;
    if (this.deadTimer) {
      clearTimeout(this.deadTimer);
      this.deadTimer = null;
    }
    if (typeof raw !== "string" || raw === "pong") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return;
    }
    // A coalesced frame (`?batch=1`) is handled as its frames, one by one, in order.
    for (const frame of unpackFrames(parsed)) {
      // A handler may have closed the client meanwhile: the rest is not for it.
      if (socket !== this.socket) return;
      if (frame && typeof frame === "object") {
        this.handle(socket, frame as ServerFrame & Partial<Reply>);
      }
    }
  }

  private handle(socket: WebSocketLike, frame: ServerFrame & Partial<Reply>): void {
    if (frame.request_id !== undefined && typeof frame.status === "number") {
      const waiting = this.pending.get(frame.request_id);
      if (waiting) {
        clearTimeout(waiting.timer);
        this.pending.delete(frame.request_id);
        waiting.resolve(frame as Reply);
        return;
      }
    }
    if (typeof frame.seq === "number") {
      if (frame.event !== "resync" && this.lastSeq !== null && frame.seq <= this.lastSeq) return;
      this.lastSeq = frame.seq;
    }
    if (frame.event === TOKEN_EXPIRING_EVENT) void this.refreshToken(socket);
    this.emit(frame.event, frame.data, frame);
  }

  /**
   * Replaces the socket's credential in band. Any failure is left alone: the server closes the
   * socket with 4401 at expiry, and the reconnect asks `token()` again.
   */
  private async refreshToken(socket: WebSocketLike): Promise<void> {
    try {
      const token = await this.options.token();
      // Not queued for a later socket: a new connection carries its own fresh token.
      if (socket !== this.socket || socket.readyState !== OPEN) return;
      const reply = await this.call(AUTH_EVENT, { token });
      if (reply.status !== 200) throw new Error(reply.errors.join("; "));
      this.emit("token_refreshed", reply.data, { event: "token_refreshed", data: reply.data });
    } catch (err) {
      this.emit(
        "token_refresh_failed",
        { error: String(err) },
        {
          event: "token_refresh_failed",
          data: { error: String(err) },
        },
      );
    }
  }

  private lost(socket: WebSocketLike, code: number): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.clearTimers();
    this.emit("close", { code }, { event: "close", data: { code } });
    if (this.stopped) return;
    if (this.options.terminalCloseCodes.includes(code)) {
      this.close();
      return;
    }
    this.scheduleRetry();
  }

  /** Full jitter: a uniform delay in [0, min(cap, base·2ⁿ)], so a deploy does not stampede. */
  private scheduleRetry(): void {
    if (this.stopped) return;
    this.setState("reconnecting");
    const ceiling = Math.min(
      this.options.backoffMaxMs,
      this.options.backoffBaseMs * 2 ** this.attempt,
    );
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.open();
    }, this.options.random() * ceiling);
  }

  private retryNow(): void {
    if (!this.retryTimer) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    void this.open();
  }

  private clearTimers(): void {
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    if (this.deadTimer) clearTimeout(this.deadTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.keepaliveTimer = this.deadTimer = this.retryTimer = null;
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", { state }, { event: "state", data: { state } });
  }

  private emit(event: string, data: unknown, frame: ServerFrame): void {
    for (const handler of this.handlers.get(event) ?? []) {
      try {
        handler(data, frame);
      } catch (err) {
        console.error(`RoomClient handler for '${event}' failed`, err);
      }
    }
  }
}
