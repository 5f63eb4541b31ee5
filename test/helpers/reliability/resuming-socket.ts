import { SELF } from "cloudflare:test";
import { BASE } from "../http";

export interface Frame {
  event?: string;
  data?: any;
  seq?: number;
  request_id?: string | number;
  status?: number;
  errors?: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const RECONNECT_TRIES = 100;
const REPLY_WAIT_MS = 5_000;

/**
 * A client that behaves like the SDK after a drop: it reconnects on its own and resumes from the
 * last thing it saw (`path(this)` builds the URL, e.g. with `?since=<lastSeq>`). It keeps every
 * frame it received, so a test can check the whole stream a client saw across connections.
 * A request answers its reply, or null when the connection dropped first (not acknowledged).
 */
export class ResumingSocket {
  /** Every client not yet closed, so a failed test can close them all (`closeAll`). */
  private static readonly live = new Set<ResumingSocket>();

  static closeAll(): void {
    for (const client of ResumingSocket.live) client.close();
  }

  readonly received: Frame[] = [];
  connections = 0;
  private ws: WebSocket | null = null;
  private opening: Promise<void> | null = null;
  private stopped = false;
  private readonly pending = new Map<string | number, (reply: Frame | null) => void>();

  constructor(
    private readonly path: (client: ResumingSocket) => string,
    private readonly token: string,
  ) {
    ResumingSocket.live.add(this);
  }

  /** The highest `seq` received (0 before any). */
  get lastSeq(): number {
    return this.received.reduce(
      (max, f) => (typeof f.seq === "number" ? Math.max(max, f.seq) : max),
      0,
    );
  }

  /** Frames of the ordered stream (with `seq`), in the order they arrived. */
  get stream(): Frame[] {
    return this.received.filter((f) => typeof f.seq === "number");
  }

  /** Connects (again) unless already connected; retries while the room is being rebuilt. */
  open(): Promise<void> {
    if (this.ws) return Promise.resolve();
    this.opening ??= this.connect().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  /** Sends `event` with a fresh request id; the reply, or null when it was not acknowledged. */
  async request(event: string, data: unknown, waitMs = REPLY_WAIT_MS): Promise<Frame | null> {
    await this.open();
    const ws = this.ws;
    if (!ws) return null;
    const requestId = crypto.randomUUID();
    const reply = new Promise<Frame | null>((resolve) => {
      const timer = setTimeout(() => done(null), waitMs);
      const done = (frame: Frame | null) => {
        clearTimeout(timer);
        this.pending.delete(requestId);
        resolve(frame);
      };
      this.pending.set(requestId, done);
    });
    try {
      ws.send(JSON.stringify({ event, data, request_id: requestId }));
    } catch {
      this.pending.get(requestId)?.(null);
    }
    return reply;
  }

  /** Waits until the stream reached `seq` (reconnecting if needed), or throws after `ms`. */
  async until(seq: number, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.lastSeq < seq) {
      if (Date.now() > deadline) {
        throw new Error(`stream stopped at seq ${this.lastSeq}, expected ${seq}`);
      }
      await this.open();
      await sleep(10);
    }
  }

  close(): void {
    this.stopped = true;
    ResumingSocket.live.delete(this);
    try {
      this.ws?.close(1000, "done");
    } catch {
      // already closed
    }
  }

  private async connect(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const url = new URL(`${BASE}${this.path(this)}`);
      url.searchParams.set("token", this.token);
      const res = await SELF.fetch(url, { headers: { Upgrade: "websocket" } }).catch(() => null);
      if (res?.status === 101 && res.webSocket) {
        this.attach(res.webSocket);
        return;
      }
      const why = res ? `${res.status} ${await res.text()}` : "fetch failed";
      if (attempt >= RECONNECT_TRIES)
        throw new Error(`cannot reconnect to ${url.pathname}: ${why}`);
      await sleep(20);
    }
  }

  private attach(ws: WebSocket): void {
    ws.accept();
    this.ws = ws;
    this.connections++;
    ws.addEventListener("message", (e) => {
      if (typeof e.data !== "string" || !e.data.startsWith("{")) return;
      const frame = JSON.parse(e.data) as Frame;
      this.received.push(frame);
      if (frame.request_id !== undefined && "status" in frame) {
        this.pending.get(frame.request_id)?.(frame);
      }
    });
    ws.addEventListener("close", () => {
      if (this.ws !== ws) return;
      this.ws = null;
      for (const done of [...this.pending.values()]) done(null);
      if (!this.stopped) void this.open().catch(() => undefined);
    });
  }
}

/** Asserts a stream's seqs are exactly `from..to`: nothing missing, nothing twice, in order. */
export function seqGaps(stream: Frame[], from: number, to: number): string | null {
  const seqs = stream.map((f) => f.seq as number);
  const expected = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  if (seqs.length === expected.length && seqs.every((s, i) => s === expected[i])) return null;
  const dup = seqs.find((s, i) => seqs.indexOf(s) !== i);
  const missing = expected.filter((s) => !seqs.includes(s));
  return `seqs ${seqs[0]}..${seqs.at(-1)} (${seqs.length}); duplicated ${dup ?? "none"}; missing ${missing.slice(0, 10).join(",") || "none"}; out of order ${seqs.some((s, i) => i > 0 && s < (seqs[i - 1] as number))}`;
}
