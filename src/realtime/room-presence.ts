import * as time from "../platform/time";
import type { Member } from "./member";
import { Coalescer, LIFECYCLE_RETRY_MS, Presence } from "./presence";
import type { ShardReport } from "./shard-protocol";

/** Connection ids of this object's own sockets. */
export const LOCAL_CONN_PREFIX = "local:";
/** Connections of a shard's sockets: `shard:<n>:<sid>`. */
const SHARD_CONN_PREFIX = "shard:";

/** What the room presence needs from its room. */
export interface PresenceHost {
  env(): Env;
  sql: SqlStorage;
  where(): { kind: string; id: string };
  /** The connection ids of the sockets this object holds open now. */
  localConns(): Set<string>;
  graceMs(): number;
  /** The coalesced presence frame (at most one per PRESENCE_FRAME_MS). */
  changed(): Promise<void>;
  ensureAlarmBy(due: number): Promise<void>;
  reportError(err: unknown, where: string): void;
}

/**
 * A room's presence, wired to its runtime: joins and leaves of its sockets, the coalesced frame,
 * the grace and lifecycle retries on the room's alarm. The state itself is `Presence`, in the
 * room's SQLite; this object holds only timers.
 */
export class RoomPresence<I = unknown> {
  private loaded: Presence<I> | null = null;
  private readonly frames: Coalescer;

  constructor(private readonly host: PresenceHost) {
    this.frames = new Coalescer(async () => {
      try {
        await host.changed();
      } catch (err) {
        host.reportError(err, "presence frame");
      }
    });
  }

  /**
   * The store. On first use in this object it drops local connections whose sockets are gone
   * (an eviction closes sockets without `webSocketClose`): their users enter the grace.
   */
  get store(): Presence<I> {
    if (!this.loaded) {
      this.loaded = new Presence<I>(this.host.sql, this.host.where);
      const graceMs = this.host.graceMs();
      if (this.loaded.reconcile(LOCAL_CONN_PREFIX, this.host.localConns(), graceMs)) {
        this.frames.poke();
        const end = this.loaded.nextGraceEnd();
        if (end !== null) this.host.ensureAlarmBy(end).catch((e) => this.fail(e, "reconcile"));
      }
    }
    return this.loaded;
  }

  async joined(conn: string, user: { id: string; name: string; info: I }): Promise<void> {
    this.store.join(user.id, conn, user.name, user.info);
    this.frames.poke();
    await this.drain();
  }

  /** A socket closed; `immediate` (the server dropped it) skips the grace. */
  async left(conn: string, immediate: boolean): Promise<void> {
    const until = this.store.leave(conn, immediate ? 0 : this.host.graceMs());
    this.frames.poke();
    if (until !== null) await this.host.ensureAlarmBy(until);
    await this.drain();
  }

  /**
   * A shard's batched report: its sockets join and leave as connections `shard:<n>:<sid>`. After
   * the shard started afresh, `present` lists the sockets it still holds; the others were lost
   * with it, so their users enter the grace as if they had closed.
   */
  async reported<S>(
    report: ShardReport<S>,
    userOf: (member: Member<S>) => { id: string; name: string; info: I },
  ): Promise<void> {
    const prefix = `${SHARD_CONN_PREFIX}${report.shard}:`;
    const store = this.store;
    const graceMs = this.host.graceMs();
    for (const member of report.joined) {
      const user = userOf(member);
      store.join(user.id, `${prefix}${member.sid}`, user.name, user.info);
    }
    for (const member of report.left) store.leave(`${prefix}${member.sid}`, graceMs);
    if (report.present) {
      store.reconcile(prefix, new Set(report.present.map((sid) => `${prefix}${sid}`)), graceMs);
    }
    this.frames.poke();
    const end = store.nextGraceEnd();
    if (end !== null) await this.host.ensureAlarmBy(end);
    await this.drain();
  }

  /** Alarm work: ends the graces that are over, records lifecycle events left waiting. */
  async onAlarm(): Promise<void> {
    if (this.store.expire()) this.frames.poke();
    await this.drain();
  }

  /** When the alarm is next needed: a grace ending, or a lifecycle event to record again. */
  dueAt(): number | null {
    const due = [this.store.nextGraceEnd()];
    if (this.store.pendingLifecycle().length) due.push(time.now() + LIFECYCLE_RETRY_MS);
    const set = due.filter((d) => d !== null);
    return set.length ? Math.min(...set) : null;
  }

  /** Records waiting lifecycle events; a failure is retried by the alarm, never thrown. */
  private async drain(): Promise<void> {
    if (!this.store.pendingLifecycle().length) return;
    try {
      await this.store.drainLifecycle(this.host.env());
    } catch (err) {
      this.fail(err, "lifecycle");
      await this.host
        .ensureAlarmBy(time.now() + LIFECYCLE_RETRY_MS)
        .catch((e) => this.fail(e, "lifecycle alarm"));
    }
  }

  private fail(err: unknown, where: string): void {
    this.host.reportError(err, `presence ${where}`);
  }
}
