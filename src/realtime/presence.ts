import * as time from "../platform/time";

/** At most one presence frame per room in this window: a burst of joins is one or two frames. */
export const PRESENCE_FRAME_MS = 250;
/** How long a user whose last socket closed stays present, unless the room kind says otherwise. */
export const DEFAULT_PRESENCE_GRACE_SECONDS = 30;
/** A lifecycle event whose recording failed is tried again this much later (by the alarm). */
export const LIFECYCLE_RETRY_MS = 10_000;

/** A configured grace in seconds (≥ 0) as milliseconds; anything else is the default. */
export function graceMsOf(configured: string | undefined): number {
  const seconds = Number(configured);
  const valid = configured !== undefined && configured.trim() !== "" && seconds >= 0;
  return (valid && Number.isFinite(seconds) ? seconds : DEFAULT_PRESENCE_GRACE_SECONDS) * 1000;
}

/** One present user: open connections (on any shard), or none while in its grace. */
export interface PresentUser<I = unknown> {
  id: string;
  name: string;
  connections: number;
  /** Epoch ms when its grace ends; null while it has connections. */
  graceUntil: number | null;
  /** What the room kind keeps about the user (poker: its permissions). */
  info: I;
}

export type LifecycleType = "room.occupied" | "room.vacated";

/** A lifecycle webhook event waiting in the room's storage until it is recorded in D1. */
export interface LifecycleEvent {
  uuid: string;
  type: LifecycleType;
  data: { kind: string; id: string };
}

/** Records lifecycle events in the webhooks outbox (idempotent by uuid); throws when it failed. */
export type LifecycleRecorder = (env: Env, events: LifecycleEvent[]) => Promise<void>;

let recorder: LifecycleRecorder | null = null;

/**
 * The webhooks feature records lifecycle events; realtime may not import it, so the composition
 * root (`src/rooms.ts`) hands its recorder over once, before any room runs.
 */
export function recordRoomLifecycleWith(record: LifecycleRecorder): void {
  recorder = record;
}

interface UserRow extends Record<string, SqlStorageValue> {
  user_id: string;
  name: string;
  info: string;
  grace_until: number | null;
  connections: number;
}

interface LifecycleRow extends Record<string, SqlStorageValue> {
  uuid: string;
  type: string;
  kind: string;
  room_id: string;
}

/**
 * Who is in a room (contract §3 presence, §10 lifecycle), kept in the room's SQLite so it
 * survives hibernation and eviction. Connections are rows keyed by an id the caller chooses (a
 * local socket's, or later a shard's `<shard>:<socket>`), so a user with several tabs counts once
 * and a shard can report joins and leaves by RPC. A user whose last connection closed stays
 * present for the grace; the room's alarm ends it (`expire`).
 *
 * Occupancy periods: the first connection of an empty room appends `room.occupied`, the room
 * becoming empty (after the grace) appends `room.vacated`, each in the same synchronous storage
 * step as the change, so each period is announced exactly once whatever is evicted when.
 */
export class Presence<I = unknown> {
  constructor(
    private readonly sql: SqlStorage,
    private readonly where: () => { kind: string; id: string },
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS presence_users (
      user_id TEXT PRIMARY KEY, name TEXT NOT NULL, info TEXT NOT NULL, grace_until INTEGER)`);
    sql.exec(
      "CREATE TABLE IF NOT EXISTS presence_connections (conn TEXT PRIMARY KEY, user_id TEXT NOT NULL)",
    );
    sql.exec(`CREATE TABLE IF NOT EXISTS presence_lifecycle (
      uuid TEXT PRIMARY KEY, type TEXT NOT NULL, kind TEXT NOT NULL, room_id TEXT NOT NULL,
      at INTEGER NOT NULL)`);
    sql.exec(
      "CREATE TABLE IF NOT EXISTS presence_occupied (one INTEGER PRIMARY KEY CHECK (one = 1))",
    );
  }

  /**
   * Connection `conn` of user `id` opened. A user not present yet (or in its grace) is listed
   * with `info`; one already connected keeps the info it has.
   */
  join(id: string, conn: string, name: string, info: I): void {
    this.sql.exec(
      "INSERT OR IGNORE INTO presence_connections (conn, user_id) VALUES (?, ?)",
      conn,
      id,
    );
    this.sql.exec(
      `INSERT INTO presence_users (user_id, name, info, grace_until) VALUES (?, ?, ?, NULL)
       ON CONFLICT(user_id) DO UPDATE SET
         name = CASE WHEN grace_until IS NULL THEN name ELSE excluded.name END,
         info = CASE WHEN grace_until IS NULL THEN info ELSE excluded.info END,
         grace_until = NULL`,
      id,
      name,
      JSON.stringify(info),
    );
    this.noteOccupancy();
  }

  /**
   * Connection `conn` closed. When it was its user's last, the user stays present until
   * `graceMs` from now (0: leaves now). Returns when that grace ends, or null.
   */
  leave(conn: string, graceMs: number): number | null {
    const row = this.sql
      .exec<{ user_id: string }>(
        "DELETE FROM presence_connections WHERE conn = ? RETURNING user_id",
        conn,
      )
      .toArray()[0];
    if (!row || this.connectionsOf(row.user_id) > 0) return null;
    if (graceMs <= 0) {
      this.sql.exec("DELETE FROM presence_users WHERE user_id = ?", row.user_id);
      this.noteOccupancy();
      return null;
    }
    const until = time.now() + graceMs;
    this.sql.exec(
      "UPDATE presence_users SET grace_until = ? WHERE user_id = ?",
      until,
      row.user_id,
    );
    return until;
  }

  /** Replaces what is kept about a present user (e.g. its permissions after a refresh). */
  update(id: string, info: I): void {
    this.sql.exec("UPDATE presence_users SET info = ? WHERE user_id = ?", JSON.stringify(info), id);
  }

  /** Ends the graces that are over at `now`; true when anyone left. */
  expire(now = time.now()): boolean {
    const gone = this.sql
      .exec(
        "DELETE FROM presence_users WHERE grace_until IS NOT NULL AND grace_until <= ? RETURNING user_id",
        now,
      )
      .toArray().length;
    if (gone) this.noteOccupancy();
    return gone > 0;
  }

  /**
   * Forgets the connections of `prefix` that are not in `open`: this object lost them without a
   * close (an eviction drops sockets silently). Their users enter the grace as if they closed.
   */
  reconcile(prefix: string, open: Set<string>, graceMs: number): boolean {
    const stale = this.sql
      .exec<{ conn: string }>(
        "SELECT conn FROM presence_connections WHERE substr(conn, 1, ?) = ?",
        prefix.length,
        prefix,
      )
      .toArray()
      .filter((r) => !open.has(r.conn));
    for (const { conn } of stale) this.leave(conn, graceMs);
    return stale.length > 0;
  }

  /** When the next grace ends (epoch ms); null when nobody is in grace. */
  nextGraceEnd(): number | null {
    return this.sql
      .exec<{ at: number | null }>("SELECT MIN(grace_until) AS at FROM presence_users")
      .one().at;
  }

  /** Present users, one each however many connections, counted in `count`. */
  count(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM presence_users").one().n;
  }

  has(id: string): boolean {
    return this.sql.exec("SELECT 1 FROM presence_users WHERE user_id = ?", id).toArray().length > 0;
  }

  /** Present users sorted by name then id; a page of them with `limit`/`offset`. */
  users(limit = -1, offset = 0): PresentUser<I>[] {
    return this.sql
      .exec<UserRow>(
        `SELECT u.user_id, u.name, u.info, u.grace_until, COUNT(c.conn) AS connections
         FROM presence_users u LEFT JOIN presence_connections c ON c.user_id = u.user_id
         GROUP BY u.user_id ORDER BY u.name, u.user_id LIMIT ? OFFSET ?`,
        limit,
        offset,
      )
      .toArray()
      .map((r) => ({
        id: r.user_id,
        name: r.name,
        connections: r.connections,
        graceUntil: r.grace_until,
        info: JSON.parse(r.info) as I,
      }));
  }

  /** Lifecycle events not yet recorded in D1, oldest first. */
  pendingLifecycle(): LifecycleEvent[] {
    return this.sql
      .exec<LifecycleRow>(
        "SELECT uuid, type, kind, room_id FROM presence_lifecycle ORDER BY at, rowid",
      )
      .toArray()
      .map((r) => ({
        uuid: r.uuid,
        type: r.type as LifecycleType,
        data: { kind: r.kind, id: r.room_id },
      }));
  }

  /**
   * Records the waiting lifecycle events through the composition root's recorder, then forgets
   * them; false when that failed (they wait for the alarm). Recording is idempotent by uuid, so
   * a drain repeated after a crash sends nothing twice.
   */
  async drainLifecycle(env: Env): Promise<boolean> {
    const events = this.pendingLifecycle();
    if (!events.length || !recorder) return true;
    await recorder(env, events);
    this.sql.exec(
      "DELETE FROM presence_lifecycle WHERE uuid IN (SELECT value FROM json_each(?))",
      JSON.stringify(events.map((e) => e.uuid)),
    );
    return true;
  }

  private connectionsOf(id: string): number {
    return this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM presence_connections WHERE user_id = ?", id)
      .one().n;
  }

  /** Appends `room.occupied`/`room.vacated` when the room's occupancy flipped. */
  private noteOccupancy(): void {
    const occupied = this.count() > 0;
    const was = this.sql.exec("SELECT 1 FROM presence_occupied").toArray().length > 0;
    if (occupied === was) return;
    if (occupied) this.sql.exec("INSERT INTO presence_occupied (one) VALUES (1)");
    else this.sql.exec("DELETE FROM presence_occupied");
    const { kind, id } = this.where();
    this.sql.exec(
      "INSERT INTO presence_lifecycle (uuid, type, kind, room_id, at) VALUES (?, ?, ?, ?, ?)",
      crypto.randomUUID().replaceAll("-", ""),
      occupied ? "room.occupied" : "room.vacated",
      kind,
      id,
      time.now(),
    );
  }
}

/**
 * Runs `flush` at most once per `intervalMs`: the first change of a quiet room is flushed at
 * once (after the current turn, so joins of one tick are one), later ones at the window's end.
 */
export class Coalescer {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastAt = 0;

  constructor(
    private readonly flush: () => Promise<void>,
    private readonly intervalMs = PRESENCE_FRAME_MS,
  ) {}

  poke(): void {
    if (this.timer) return;
    // Bounded: a clock that moved back (a test's fake one) never holds a frame longer.
    const wait = Math.min(this.intervalMs, Math.max(0, this.lastAt + this.intervalMs - time.now()));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.lastAt = time.now();
      void this.flush();
    }, wait);
  }
}
