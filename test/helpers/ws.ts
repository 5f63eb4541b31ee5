import { SELF } from "cloudflare:test";
import { BASE } from "./http";

// Generous: with four suites sharing two cores a frame can take seconds; a pass never waits it out.
const DEFAULT_WAIT_MS = 10_000;

/** A server-side socket of a test: every received frame is kept, waits always time out. */
export class TestSocket {
  readonly frames: any[] = [];
  private waiters: { match: (f: any) => boolean; resolve: (f: any) => void }[] = [];
  closed: { code: number; reason: string } | null = null;
  private closeWaiters: ((c: { code: number; reason: string }) => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => {
      const text = typeof e.data === "string" ? e.data : "";
      const frame = text.startsWith("{") ? JSON.parse(text) : text;
      this.frames.push(frame);
      const waiter = this.waiters.find((w) => w.match(frame));
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(frame);
      }
    });
    ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
      for (const w of this.closeWaiters) w(this.closed);
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The first frame (already received or still to come) that matches, not yet consumed. */
  next(match: (f: any) => boolean, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<any> {
    const seen = this.frames.findIndex(match);
    if (seen >= 0) return Promise.resolve(this.frames.splice(seen, 1)[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.frames)}`,
          ),
        );
      }, timeoutMs);
      const done = (frame: any) => {
        clearTimeout(timer);
        this.frames.splice(this.frames.indexOf(frame), 1);
        resolve(frame);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  event(name: string, timeoutMs?: number): Promise<any> {
    return this.next((f) => f?.event === name, `event '${name}'`, timeoutMs);
  }

  reply(requestId: string | number, timeoutMs?: number): Promise<any> {
    return this.next(
      (f) => f?.request_id === requestId && "status" in f,
      `reply to ${requestId}`,
      timeoutMs,
    );
  }

  /** Sends a frame with a request id and waits for its reply. */
  async request(
    event: string,
    data: unknown,
    requestId: string | number = crypto.randomUUID(),
  ): Promise<any> {
    this.send({ event, data, request_id: requestId });
    return this.reply(requestId);
  }

  /** Asserts nothing matching arrives within `ms`. */
  async nothing(match: (f: any) => boolean, ms = 300): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    const found = this.frames.find(match);
    if (found) throw new Error(`expected no such frame, got ${JSON.stringify(found)}`);
  }

  waitClosed(timeoutMs = DEFAULT_WAIT_MS): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timed out waiting for close")), timeoutMs);
      this.closeWaiters.push((c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
  }

  close(): void {
    try {
      this.ws.close(1000, "done");
    } catch {
      // already closed
    }
  }
}

/** Opens `path` as a WebSocket through the Worker; returns the refusal response when not upgraded. */
export async function connect(path: string, token?: string): Promise<TestSocket> {
  const res = await tryConnect(path, token);
  if (!(res instanceof TestSocket)) {
    throw new Error(`upgrade refused: ${res.status} ${await res.text()}`);
  }
  return res;
}

export async function tryConnect(path: string, token?: string): Promise<TestSocket | Response> {
  const url = new URL(`${BASE}${path}`);
  if (token) url.searchParams.set("token", token);
  const res = await SELF.fetch(url, { headers: { Upgrade: "websocket" } });
  if (res.status !== 101 || !res.webSocket) return res;
  res.webSocket.accept();
  return new TestSocket(res.webSocket);
}
