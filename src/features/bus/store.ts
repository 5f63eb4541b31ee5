import * as time from "../../platform/time";
import type { PreparedEvent, RoomOutbox } from "../webhooks";
import { formatMessageId, newBusTag, parseMessageId } from "./message-id";
import type { DeliveredMessage, Delivery, MessageInput } from "./wire";

/** Retention per channel (contract §4): a message goes when it is beyond both limits. */
export const KEEP_PER_CHANNEL = 1000;
export const KEEP_MS = 24 * 60 * 60 * 1000;

/** Where a reader starts: after `after` (a seq), and whether messages it wanted were lost. */
export interface Cursor {
  after: number;
  gap: boolean;
}

/**
 * A message to store: its channel, its body, the publisher's retry key if any, and the webhook
 * event that announces it (stored with it, in the namespace's outbox).
 */
export interface NewMessage {
  channel: string;
  input: MessageInput;
  publishKey: string | null;
  event?: PreparedEvent;
}

export interface Appended {
  delivery: Delivery;
  /** False when the publish key had already stored this message: it was sent back then. */
  stored: boolean;
}

interface MessageRow extends Record<string, SqlStorageValue> {
  seq: number;
  channel: string;
  body: string;
}

/**
 * The messages of one namespace (`:db`) in its BusChannel's SQLite storage.
 *
 * One AUTOINCREMENT sequence orders every channel of the namespace; writes are serial in the
 * object, so a reader that saw `seq` n has seen every message below n it is entitled to. That
 * is what makes one `last_message` a correct cursor over several channels.
 */
export class BusStore {
  private cachedTag: string | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly outbox: RoomOutbox,
  ) {
    const sql = storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS bus_messages (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      channel TEXT NOT NULL,
      position INTEGER NOT NULL,
      body TEXT NOT NULL,
      publish_key TEXT UNIQUE,
      at INTEGER NOT NULL
    )`);
    sql.exec("CREATE INDEX IF NOT EXISTS bus_messages_by_channel ON bus_messages (channel, seq)");
    sql.exec("CREATE INDEX IF NOT EXISTS bus_messages_by_age ON bus_messages (at)");
    sql.exec(`CREATE TABLE IF NOT EXISTS bus_channels (
      channel TEXT PRIMARY KEY,
      head_position INTEGER NOT NULL,
      pruned_through INTEGER NOT NULL DEFAULT 0
    )`);
    sql.exec("CREATE TABLE IF NOT EXISTS bus_tag (tag TEXT NOT NULL)");
  }

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  /** This store's id tag, created once. */
  tag(): string {
    if (this.cachedTag) return this.cachedTag;
    const row = this.sql.exec<{ tag: string }>("SELECT tag FROM bus_tag").toArray()[0];
    const tag = row?.tag ?? newBusTag();
    if (!row) this.sql.exec("INSERT INTO bus_tag (tag) VALUES (?)", tag);
    this.cachedTag = tag;
    return tag;
  }

  /** The last seq handed out (0 before the first message). */
  head(): number {
    const row = this.sql
      .exec<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'bus_messages'")
      .toArray()[0];
    return row?.seq ?? 0;
  }

  /**
   * Stores messages with their events in one transaction; returns them as delivered, in order. A
   * repeated `publishKey` (a publisher retrying after a lost answer) returns the message stored
   * the first time, with `stored: false`, instead of a second copy (and records no event).
   */
  appendAll(messages: NewMessage[], now = time.now()): Appended[] {
    return this.storage.transactionSync(() => messages.map((m) => this.insert(m, now)));
  }

  private insert({ channel, input, publishKey, event }: NewMessage, now: number): Appended {
    if (publishKey !== null) {
      const existing = this.sql
        .exec<MessageRow>(
          "SELECT seq, channel, body FROM bus_messages WHERE publish_key = ?",
          publishKey,
        )
        .toArray()[0];
      if (existing) return { delivery: this.toDelivery(existing), stored: false };
    }
    const { message_id: _ignored, ...fields } = input;
    const position = this.sql
      .exec<{ head_position: number }>(
        `INSERT INTO bus_channels (channel, head_position) VALUES (?, 1)
         ON CONFLICT(channel) DO UPDATE SET head_position = head_position + 1
         RETURNING head_position`,
        channel,
      )
      .one().head_position;
    const body = JSON.stringify(fields);
    const { seq } = this.sql
      .exec<{ seq: number }>(
        `INSERT INTO bus_messages (channel, position, body, publish_key, at)
         VALUES (?, ?, ?, ?, ?) RETURNING seq`,
        channel,
        position,
        body,
        publishKey,
        now,
      )
      .one();
    if (event) this.outbox.append(event, now);
    return { delivery: this.toDelivery({ seq, channel, body }), stored: true };
  }

  /**
   * Reads a client's `last_message`. null starts from now. An id of this store is a position
   * even when its own message expired; a gap is reported only when a message after it on the
   * listed channels was pruned. A foreign, malformed or future id starts at the oldest kept.
   */
  cursor(lastMessage: string | null, channels: string[]): Cursor {
    const head = this.head();
    if (lastMessage === null) return { after: head, gap: false };
    const id = parseMessageId(lastMessage);
    if (!id || id.seq > head || id.tag !== this.tag()) return { after: 0, gap: true };
    return { after: id.seq, gap: this.prunedThrough(channels) > id.seq };
  }

  /** The first message after `after` on any of `channels`, or null. */
  next(after: number, channels: string[]): Delivery | null {
    const row = this.sql
      .exec<MessageRow>(
        `SELECT seq, channel, body FROM bus_messages
         WHERE seq > ? AND channel IN (SELECT value FROM json_each(?))
         ORDER BY seq LIMIT 1`,
        after,
        JSON.stringify(channels),
      )
      .toArray()[0];
    return row ? this.toDelivery(row) : null;
  }

  /** Every message after `after` on `channels`, in order (WebSocket and SSE catch-up). */
  after(after: number, channels: string[]): Delivery[] {
    return this.sql
      .exec<MessageRow>(
        `SELECT seq, channel, body FROM bus_messages
         WHERE seq > ? AND channel IN (SELECT value FROM json_each(?))
         ORDER BY seq`,
        after,
        JSON.stringify(channels),
      )
      .toArray()
      .map((row) => this.toDelivery(row));
  }

  /** Deletes what is beyond both the last 1,000 of its channel and 24 h; remembers how far. */
  prune(now = time.now()): number {
    return this.storage.transactionSync(() => {
      const gone = this.sql
        .exec<{ channel: string; seq: number }>(
          `DELETE FROM bus_messages
           WHERE at < ? AND position <= (
             SELECT head_position FROM bus_channels c WHERE c.channel = bus_messages.channel
           ) - ?
           RETURNING channel, seq`,
          now - KEEP_MS,
          KEEP_PER_CHANNEL,
        )
        .toArray();
      const through = new Map<string, number>();
      for (const { channel, seq } of gone) {
        through.set(channel, Math.max(seq, through.get(channel) ?? 0));
      }
      for (const [channel, seq] of through) {
        this.sql.exec(
          "UPDATE bus_channels SET pruned_through = MAX(pruned_through, ?) WHERE channel = ?",
          seq,
          channel,
        );
      }
      return gone.length;
    });
  }

  /** Messages stored since `since` (the stats' `messages_24h`). */
  countSince(since: number): number {
    return this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM bus_messages WHERE at >= ?", since)
      .one().n;
  }

  /** When the newest kept message was stored, or null. */
  newestAt(): number | null {
    return this.sql.exec<{ at: number | null }>("SELECT MAX(at) AS at FROM bus_messages").one().at;
  }

  /** The id of the newest kept message on `channel`, or null. */
  lastMessageId(channel: string): string | null {
    const row = this.sql
      .exec<{ seq: number }>(
        "SELECT seq FROM bus_messages WHERE channel = ? ORDER BY seq DESC LIMIT 1",
        channel,
      )
      .toArray()[0];
    return row ? formatMessageId({ tag: this.tag(), seq: row.seq }) : null;
  }

  /** When the oldest message was stored (null when none is kept): the next prune is due a day on. */
  oldestAt(): number | null {
    const row = this.sql
      .exec<{ at: number | null }>("SELECT MIN(at) AS at FROM bus_messages")
      .one();
    return row.at;
  }

  private prunedThrough(channels: string[]): number {
    const row = this.sql
      .exec<{ through: number | null }>(
        `SELECT MAX(pruned_through) AS through FROM bus_channels
         WHERE channel IN (SELECT value FROM json_each(?))`,
        JSON.stringify(channels),
      )
      .one();
    return row.through ?? 0;
  }

  private toDelivery(row: MessageRow): Delivery {
    const message = {
      message_id: formatMessageId({ tag: this.tag(), seq: row.seq }),
      ...JSON.parse(row.body),
    } as DeliveredMessage;
    return { seq: row.seq, channel: row.channel, message };
  }
}
