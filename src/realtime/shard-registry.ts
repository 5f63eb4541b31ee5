import { logger } from "../platform/log";
import { SHARD_HEADER, type ShardItem, type ShardPeer, type ShardReport } from "./shard-protocol";

/** A feed that failed is tried again this often, then left to the shard's gap check. */
const FEED_RETRY_MS = 100;
const FEED_ATTEMPTS = 5;

interface ShardRow {
  sockets: number;
  version: number;
}

/**
 * The room's side of its shards: which exist and how many listeners each reported (the room's
 * SQLite, so the choice of shard survives eviction), where a new socket goes, and the feed: every
 * item the room sends reaches each shard with listeners in one RPC per batch, in order (one feed
 * in flight per shard; what is published meanwhile is the next batch).
 */
export class ShardRegistry {
  private rows: Map<number, ShardRow> | null = null;
  private readonly pending = new Map<number, ShardItem[]>();
  private readonly inFlight = new Set<number>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly stub: (n: number) => ShardPeer,
    private readonly roomName: () => string,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS room_shards (
      n INTEGER PRIMARY KEY,
      sockets INTEGER NOT NULL,
      version INTEGER NOT NULL
    )`);
  }

  /**
   * The shard a new socket goes to, or null to keep it here: the room holds `limit`, then each
   * shard in turn; the count is raised at once, so a burst of upgrades spreads before reports.
   */
  pick(local: number, limit: number): number | null {
    if (local < limit) return null;
    const rows = this.load();
    let n = 1;
    while ((rows.get(n)?.sockets ?? 0) >= limit) n++;
    const row = rows.get(n) ?? { sockets: 0, version: 0 };
    this.save(n, { ...row, sockets: row.sockets + 1 });
    return n;
  }

  /** Hands the upgrade to shard `n` (same headers: room, kind, caller, admission). */
  forward(n: number, request: Request): Promise<Response> {
    const headers = new Headers(request.headers);
    headers.set(SHARD_HEADER, String(n));
    return this.stub(n).fetch(new Request(request.url, { method: request.method, headers }));
  }

  /** Takes a shard's count unless a newer report of it arrived first. */
  report(report: ShardReport<unknown>): void {
    const row = this.load().get(report.shard);
    if (row && row.version > report.version) return;
    this.save(report.shard, { sockets: report.sockets, version: report.version });
  }

  /** A socket joined shard `n`: it is fed from now on, whatever its last report said. */
  joined(n: number): void {
    const row = this.load().get(n) ?? { sockets: 0, version: 0 };
    if (row.sockets < 1) this.save(n, { ...row, sockets: 1 });
  }

  /** Listeners on shards, and how many shards hold any. */
  totals(): { sockets: number; shards: number } {
    let sockets = 0;
    let shards = 0;
    for (const row of this.load().values()) {
      if (row.sockets <= 0) continue;
      sockets += row.sockets;
      shards += 1;
    }
    return { sockets, shards };
  }

  /** The shards that reported listeners (or were just handed one). */
  withListeners(): number[] {
    return [...this.load()].flatMap(([n, row]) => (row.sockets > 0 ? [n] : []));
  }

  /** Queues `item` for every shard with listeners; sent after the current turn, as one batch. */
  feed(item: ShardItem): void {
    for (const [n, row] of this.load()) {
      if (row.sockets <= 0) continue;
      const queue = this.pending.get(n);
      if (queue) {
        queue.push(item);
        continue;
      }
      this.pending.set(n, [item]);
      queueMicrotask(() => this.flush(n, 0));
    }
  }

  private flush(n: number, attempt: number): void {
    if (this.inFlight.has(n)) return;
    const batch = this.pending.get(n);
    if (!batch?.length) {
      this.pending.delete(n);
      return;
    }
    this.pending.set(n, []);
    this.inFlight.add(n);
    this.stub(n)
      .shardFeed(batch)
      .then(
        () => {
          this.inFlight.delete(n);
          this.flush(n, 0);
        },
        (err: unknown) => {
          this.inFlight.delete(n);
          // In front of what queued meanwhile: the order holds. A shard that stays unreachable
          // has lost its sockets (they resume); one that comes back sees the gap and catches up.
          this.pending.set(n, [...batch, ...(this.pending.get(n) ?? [])]);
          if (attempt + 1 >= FEED_ATTEMPTS) {
            logger.warn(`Feed to shard ${n} failed ${FEED_ATTEMPTS} times; dropped`, {
              event: "shard.feed_failed",
              room: this.roomName(),
              error: err,
            });
            this.pending.delete(n);
            return;
          }
          setTimeout(() => this.flush(n, attempt + 1), FEED_RETRY_MS);
        },
      );
  }

  private load(): Map<number, ShardRow> {
    if (this.rows) return this.rows;
    const rows = new Map<number, ShardRow>();
    for (const r of this.sql
      .exec<{ n: number; sockets: number; version: number }>(
        "SELECT n, sockets, version FROM room_shards",
      )
      .toArray()) {
      rows.set(r.n, { sockets: r.sockets, version: r.version });
    }
    this.rows = rows;
    return rows;
  }

  private save(n: number, row: ShardRow): void {
    this.load().set(n, row);
    this.sql.exec(
      `INSERT INTO room_shards (n, sockets, version) VALUES (?, ?, ?)
       ON CONFLICT(n) DO UPDATE SET sockets = excluded.sockets, version = excluded.version`,
      n,
      row.sockets,
      row.version,
    );
  }
}
