import type { ServerEvent } from "./protocol";

/** Retention of a room's ordered stream (CONTRACT.md §2): at least 1,000 events or 24 hours. */
export const STREAM_KEEP_EVENTS = 1000;
export const STREAM_KEEP_MS = 24 * 60 * 60 * 1000;

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

  append(event: string, data: unknown): ServerEvent {
    const row = this.sql
      .exec<{ seq: number }>(
        "INSERT INTO room_events (event, data, at) VALUES (?, ?, ?) RETURNING seq",
        event,
        JSON.stringify(data),
        Date.now(),
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
  prune(now = Date.now()): void {
    this.sql.exec(
      "DELETE FROM room_events WHERE seq <= ? AND at < ?",
      this.head() - STREAM_KEEP_EVENTS,
      now - STREAM_KEEP_MS,
    );
  }
}
