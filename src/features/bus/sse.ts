import type { Delivery, PollAnswer } from "./wire";
import { answerOf } from "./wire";

/** A comment line this often keeps proxies from closing a quiet stream and finds dead ones. */
export const SSE_HEARTBEAT_MS = 15_000;
/** How long an EventSource waits before reconnecting (with `Last-Event-ID`). */
const RETRY_MS = 1_000;

const encoder = new TextEncoder();

interface Stream {
  channels: ReadonlySet<string>;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  gap: boolean;
}

/** One SSE event: `id:` is the message id, so a reconnecting EventSource resumes after it. */
export function sseEvent(delivery: Delivery, gap: boolean): string {
  const data: PollAnswer = answerOf(delivery, gap);
  return `id: ${delivery.message.message_id}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The open SSE responses of a BusChannel. They live in memory (a response cannot hibernate);
 * a stream whose client went away fails its next write and is dropped.
 */
export class SseStreams {
  private readonly open = new Set<Stream>();
  private heartbeat: ReturnType<typeof setInterval> | null = null;

  /** `onDrop` runs when a stream ends, so the namespace can report its listeners again. */
  constructor(private readonly onDrop: () => void = () => {}) {}

  get size(): number {
    return this.open.size;
  }

  /** Open streams that listen to `channel`. */
  listeningTo(channel: string): number {
    return [...this.open].filter((s) => s.channels.has(channel)).length;
  }

  /** A new stream that first replays `backlog` (already read after the client's cursor). */
  start(channels: string[], backlog: Delivery[], gap: boolean): ReadableStream<Uint8Array> {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const stream: Stream = { channels: new Set(channels), writer: writable.getWriter(), gap };
    this.open.add(stream);
    stream.writer.closed.catch(() => this.drop(stream));
    this.write(stream, `retry: ${RETRY_MS}\n: connected\n\n`);
    for (const delivery of backlog) this.push(stream, delivery);
    this.ensureHeartbeat();
    return readable;
  }

  /** Sends the delivery to every stream of its channel; returns how many. */
  offer(delivery: Delivery): number {
    let sent = 0;
    for (const stream of this.open) {
      if (!stream.channels.has(delivery.channel)) continue;
      this.push(stream, delivery);
      sent += 1;
    }
    return sent;
  }

  private push(stream: Stream, delivery: Delivery): void {
    this.write(stream, sseEvent(delivery, stream.gap));
    stream.gap = false;
  }

  private write(stream: Stream, text: string): void {
    stream.writer.write(encoder.encode(text)).catch(() => this.drop(stream));
  }

  private drop(stream: Stream): void {
    if (!this.open.delete(stream)) return;
    stream.writer.abort().catch(() => undefined);
    this.onDrop();
    if (!this.open.size && this.heartbeat !== null) {
      clearInterval(this.heartbeat);
      this.heartbeat = null;
    }
  }

  private ensureHeartbeat(): void {
    if (this.heartbeat !== null) return;
    this.heartbeat = setInterval(() => {
      for (const stream of this.open) this.write(stream, ": ping\n\n");
    }, SSE_HEARTBEAT_MS);
  }
}
