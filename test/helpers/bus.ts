import { env, SELF } from "cloudflare:test";
import { busStub } from "../../src/features/bus/bus-channel";
import { parseMessageId } from "../../src/features/bus/message-id";
import { ADMIN, BASE, call } from "./http";

/** A fresh namespace per test (storage is per file). */
export const newDb = () => `db-${crypto.randomUUID().slice(0, 8)}`;

/** `POST /:db/bus` as a Tryton client would, with a short timeout. */
export function poll(
  db: string,
  token: string,
  body: { last_message?: string | null; channels: string[] } & Record<string, unknown>,
  timeout = 1,
) {
  return call("POST", `/${db}/bus?timeout=${timeout}`, { token, body });
}

/** Publishes through the REST API as admin; returns the message id. */
export async function publish(
  db: string,
  channel: string,
  message: Record<string, unknown> = { type: "test" },
): Promise<string> {
  const res = await call("POST", `/api/bus/${db}/publish`, {
    token: ADMIN,
    body: { channel, message },
  });
  if (res.status !== 201)
    throw new Error(`publish failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.message_id;
}

/**
 * Writes a message on a `user:` or `client:` channel straight into the namespace's object, as
 * notify does (the publish route refuses those channels), with any payload a test needs.
 */
export async function publishReserved(
  db: string,
  channel: string,
  message: Record<string, unknown> = { type: "test" },
): Promise<string> {
  const { message_id } = await busStub(env, db).publishMessage(db, channel, {
    type: "test",
    ...message,
  });
  return message_id;
}

export const seqOf = (id: string): number => {
  const parsed = parseMessageId(id);
  if (!parsed) throw new Error(`not a bus message id: ${id}`);
  return parsed.seq;
};

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A seeded PRNG (mulberry32) so a failing randomized run can be replayed from its seed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SseEvent {
  id: string | null;
  data: any;
}

/** An open SSE response read event by event; every wait times out. */
export class SseReader {
  readonly events: SseEvent[] = [];
  private buffer = "";
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  /** A read that outlived a timed-out wait; the next wait takes it over, so no chunk is lost. */
  private pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  ended = false;

  constructor(readonly response: Response) {
    if (!response.body) throw new Error("SSE response without a body");
    this.reader = response.body.getReader();
  }

  /** The next event (waits for it), or throws after `timeoutMs`. */
  async next(timeoutMs = 3000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const event = this.events.shift();
      if (event) return event;
      if (this.ended) throw new Error("SSE stream ended");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for an SSE event`);
      this.pending ??= this.reader.read();
      const chunk = await Promise.race([this.pending, sleep(left).then(() => null)]);
      if (chunk === null) continue;
      this.pending = null;
      if (chunk.done) {
        this.ended = true;
        continue;
      }
      this.feed(this.decoder.decode(chunk.value, { stream: true }));
    }
  }

  /** Reads without waiting long; resolves once the stream ended or `ms` passed. */
  async drain(ms: number): Promise<SseEvent[]> {
    const out: SseEvent[] = [];
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && !this.ended) {
      try {
        out.push(await this.next(Math.max(1, deadline - Date.now())));
      } catch {
        break;
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.reader.cancel().catch(() => undefined);
  }

  private feed(text: string): void {
    this.buffer += text;
    let end = this.buffer.indexOf("\n\n");
    while (end >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let id: string | null = null;
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("id: ")) id = line.slice(4);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length) this.events.push({ id, data: JSON.parse(data.join("\n")) });
      end = this.buffer.indexOf("\n\n");
    }
  }
}

/** Opens `GET /:db/bus/stream` like an EventSource (token in the query). */
export async function openSse(
  db: string,
  token: string,
  channels: string[],
  lastEventId?: string,
): Promise<SseReader | Response> {
  const url = new URL(`${BASE}/${db}/bus/stream`);
  url.searchParams.set("channels", channels.join(","));
  url.searchParams.set("token", token);
  const headers: Record<string, string> = { Accept: "text/event-stream" };
  if (lastEventId) headers["Last-Event-ID"] = lastEventId;
  const res = await SELF.fetch(url, { headers });
  if (res.status !== 200) return res;
  return new SseReader(res);
}
