/**
 * Switchboard bus client for browsers and Node (no Workers types): the Tryton long-poll loop.
 *
 * `new BusClient({ baseUrl, db, token }).poll(channels, onMessage)` polls `POST /<db>/bus`,
 * always sending back the `message_id` it last received, so it gets every message of its
 * channels exactly once and in order, across reconnects and server restarts. Network and
 * server errors back off (full jitter, capped); `stop()` aborts the parked poll at once.
 */
import type { DeliveredMessage, PollAnswer } from "../protocol/bus";

/** A delivered message: the publisher's fields plus its `message_id`. */
export type BusMessage = DeliveredMessage;

export interface BusDelivery {
  channel: string;
  /** True when `last_message` was unknown or expired: messages may have been missed. */
  gap: boolean;
}

export type BusHandler = (message: BusMessage, info: BusDelivery) => void | Promise<void>;

export interface BusClientOptions {
  /** `https://host` (the Worker's origin). */
  baseUrl: string;
  /** The namespace (`:db`). */
  db: string;
  /** Called before every poll, so an expired token can be replaced. */
  token: () => string | Promise<string>;
  /** Defaults to the global fetch. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Seconds one poll may wait on the server (1–60, default 30). */
  timeoutSeconds?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Errors (failed polls, a throwing handler); the loop keeps going unless it is terminal. */
  onError?: (error: unknown) => void;
  random?: () => number;
}

export interface PollOptions {
  /** Resume after this id (e.g. stored across page loads); null starts from now. */
  lastMessage?: string | null;
}

export interface BusSubscription {
  /** The id of the last message handed to the handler. */
  readonly lastMessage: string | null;
  /** Settles when the loop ends: after `stop()`, or rejected by a terminal error (400/403). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** Statuses after which polling again cannot succeed. */
const TERMINAL = new Set([400, 403, 404]);

export class BusError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    /** What the server's `Retry-After` asked for (a 429 or 503), in ms; null when it did not. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(`Bus poll failed with ${status}`);
    this.name = "BusError";
  }
}

/** `Retry-After` in seconds (the form Switchboard sends) as ms; an HTTP date is not used. */
function retryAfterMs(header: string | null): number | null {
  const seconds = header === null ? Number.NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : null;
}

export class BusClient {
  constructor(private readonly options: BusClientOptions) {}

  poll(channels: string[], onMessage: BusHandler, options: PollOptions = {}): BusSubscription {
    return new PollLoop(this.options, channels, onMessage, options.lastMessage ?? null);
  }
}

class PollLoop implements BusSubscription {
  lastMessage: string | null;
  readonly done: Promise<void>;
  private stopped = false;
  private readonly abort = new AbortController();
  private wake: (() => void) | null = null;

  constructor(
    private readonly options: BusClientOptions,
    private readonly channels: string[],
    private readonly onMessage: BusHandler,
    lastMessage: string | null,
  ) {
    this.lastMessage = lastMessage;
    this.done = this.run();
    // A caller that only uses stop() must not see an unhandled rejection.
    this.done.catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
    await this.done.catch(() => undefined);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.once();
        failures = 0;
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof BusError && TERMINAL.has(err.status)) throw err;
        this.options.onError?.(err);
        failures++;
        const asked = err instanceof BusError ? (err.retryAfterMs ?? 0) : 0;
        await this.pause(Math.max(asked, this.backoff(failures)));
      }
    }
  }

  private async once(): Promise<void> {
    const { baseUrl, db, timeoutSeconds = 30 } = this.options;
    const doFetch = this.options.fetch ?? ((input, init) => fetch(input, init));
    const res = await doFetch(
      `${baseUrl.replace(/\/$/, "")}/${encodeURIComponent(db)}/bus?timeout=${timeoutSeconds}`,
      {
        method: "POST",
        headers: {
          Authorization: `Bearer ${await this.options.token()}`,
          "Content-Type": "application/json",
        },
        body: JSON.stringify({ last_message: this.lastMessage, channels: this.channels }),
        signal: this.abort.signal,
      },
    );
    const body = (await res.json().catch(() => null)) as PollAnswer | null;
    if (!res.ok || body === null) {
      throw new BusError(res.status, body, retryAfterMs(res.headers.get("Retry-After")));
    }
    if (!body.message || body.channel === null || this.stopped) return;
    this.lastMessage = body.message.message_id;
    try {
      await this.onMessage(body.message, { channel: body.channel, gap: body.gap === true });
    } catch (err) {
      this.options.onError?.(err);
    }
  }

  /** Full-jitter exponential backoff. */
  private backoff(failures: number): number {
    const { backoffBaseMs = 500, backoffMaxMs = 30_000, random = Math.random } = this.options;
    return random() * Math.min(backoffMaxMs, backoffBaseMs * 2 ** (failures - 1));
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
