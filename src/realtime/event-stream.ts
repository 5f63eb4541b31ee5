import { ApiError } from "../platform/errors";
import * as time from "../platform/time";
import type { ServerEvent } from "../protocol";

/** Retention of a room's ordered stream (contract §2): at least 1,000 events or 24 hours. */
export const STREAM_KEEP_EVENTS = 1000;
export const STREAM_KEEP_MS = 24 * 60 * 60 * 1000;

/**
 * The largest event the stream takes, as UTF-8 JSON. Far below what the room's SQLite stores in
 * one value (a ~1 MB value fails with SQLITE_TOOBIG) and what a WebSocket message may carry
 * (1 MiB), so an event that fits can always be stored, replayed and sent. This is the one size
 * rule of every room's stream: an event over it is refused before anything is written.
 */
export const MAX_EVENT_BYTES = 512 * 1024;

const utf8 = new TextEncoder();

/** The 413 of an event over MAX_EVENT_BYTES (rooms that skip such a record test `instanceof`). */
export class EventTooLarge extends ApiError {
  constructor(
    readonly event: string,
    readonly bytes: number,
  ) {
    super(
      "payload_too_large",
      `The '${event}' event would be ${bytes} bytes; a room's events are at most ${MAX_EVENT_BYTES}`,
    );
  }
}

interface EventRow extends Record<string, SqlStorageValue> {
  seq: number;
  event: string;
  data: string;
}

/** A room's ordered events in its own SQLite storage, so `seq` survives eviction. */
export class EventStream {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS room_events (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      event TEXT NOT NULL,
      data TEXT NOT NULL,
      at INTEGER NOT NULL
    )`);
  }

  /**
   * Throws EventTooLarge (413) when `data` is over MAX_EVENT_BYTES: a room checks the event it
   * will publish before the write it announces, so nothing is stored that cannot be published.
   */
  check(event: string, data: unknown): void {
    encodeEvent(event, data);
  }

  /** Stores the event and answers it with its `seq`; an event over the limit throws first. */
  append(event: string, data: unknown): ServerEvent {
    const row = this.sql
      .exec<{ seq: number }>(
        "INSERT INTO room_events (event, data, at) VALUES (?, ?, ?) RETURNING seq",
        event,
        encodeEvent(event, data),
        time.now(),
      )
      .one();
    return { event, data, seq: row.seq };
  }

  /** The last seq handed out (0 when nothing was ever published). */
  head(): number {
    const row = this.sql
      .exec<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'room_events'")
      .toArray()[0];
    return row?.seq ?? 0;
  }

  /** When the latest kept event was stored, or null when none is. */
  lastAt(): number | null {
    return this.sql.exec<{ at: number | null }>("SELECT MAX(at) AS at FROM room_events").one().at;
  }

  /** Events after `since`, or null when some of them are no longer kept (the client must resync). */
  after(since: number): ServerEvent[] | null {
    const head = this.head();
    if (since > head) return null;
    if (since === head) return [];
    const rows = this.sql
      .exec<EventRow>("SELECT seq, event, data FROM room_events WHERE seq > ? ORDER BY seq", since)
      .toArray();
    if (rows[0]?.seq !== since + 1) return null;
    return rows.map((r) => ({ event: r.event, data: JSON.parse(r.data), seq: r.seq }));
  }

  /** Drops events that are both beyond the last 1,000 and older than 24 h. */
  prune(now = time.now()): void {
    this.sql.exec(
      "DELETE FROM room_events WHERE seq <= ? AND at < ?",
      this.head() - STREAM_KEEP_EVENTS,
      now - STREAM_KEEP_MS,
    );
  }
}

function encodeEvent(event: string, data: unknown): string {
  const text = JSON.stringify(data);
  // A UTF-16 unit is at most 3 UTF-8 bytes: most events are known to fit without encoding.
  if (text.length * 3 > MAX_EVENT_BYTES) {
    const bytes = utf8.encode(text).byteLength;
    if (bytes > MAX_EVENT_BYTES) throw new EventTooLarge(event, bytes);
  }
  return text;
}
