import type { Attendee } from "./participants";

/** How long a participant whose last socket closed stays listed, unless configured. */
export const DEFAULT_LEAVE_GRACE_SECONDS = 30;

/** `POKER_LEAVE_GRACE_SECONDS` as milliseconds: a number of seconds ≥ 0, else the default. */
export function leaveGraceMs(configured: string | undefined): number {
  const seconds = Number(configured);
  const valid = configured !== undefined && configured.trim() !== "" && seconds >= 0;
  return (valid && Number.isFinite(seconds) ? seconds : DEFAULT_LEAVE_GRACE_SECONDS) * 1000;
}

export type GraceAttendee = Attendee & { connectedAt: number };

interface GraceRow extends Record<string, SqlStorageValue> {
  user_id: string;
  attendee: string;
  until: number;
}

/**
 * Participants in their leave grace (contract §3, presence grace): their last socket closed less
 * than the grace ago, so they stay listed and count as present for the auto-reveal. Kept in the
 * room's SQLite, not in memory, so an eviction during the grace neither forgets them nor makes
 * their leave go unannounced: the room's alarm drops them once `until` has passed.
 */
export class PresenceGrace {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(
      "CREATE TABLE IF NOT EXISTS poker_leave_grace (user_id TEXT PRIMARY KEY, attendee TEXT NOT NULL, until INTEGER NOT NULL)",
    );
  }

  /** Starts (or restarts) `attendee`'s grace, ending at `until` (epoch ms). */
  begin(attendee: GraceAttendee, until: number): void {
    this.sql.exec(
      "INSERT INTO poker_leave_grace (user_id, attendee, until) VALUES (?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET attendee = excluded.attendee, until = excluded.until",
      attendee.id,
      JSON.stringify(attendee),
      until,
    );
  }

  /** A socket of the user is open again: a reconnect within the grace is not a leave. */
  end(userIds: string[]): void {
    for (const id of userIds) this.sql.exec("DELETE FROM poker_leave_grace WHERE user_id = ?", id);
  }

  /** Everyone still in grace. */
  attendees(): GraceAttendee[] {
    return this.rows().map((r) => JSON.parse(r.attendee) as GraceAttendee);
  }

  /** Removes those whose grace is over at `now`; true when anyone was removed. */
  expire(now: number): boolean {
    const gone = this.sql.exec(
      "DELETE FROM poker_leave_grace WHERE until <= ? RETURNING user_id",
      now,
    );
    return gone.toArray().length > 0;
  }

  clear(): void {
    this.sql.exec("DELETE FROM poker_leave_grace");
  }

  /** When the next grace ends (epoch ms), null when nobody is in grace. */
  nextEnd(): number | null {
    const row = this.sql
      .exec<{ until: number | null }>("SELECT MIN(until) AS until FROM poker_leave_grace")
      .toArray()[0];
    return row?.until ?? null;
  }

  private rows(): GraceRow[] {
    return this.sql
      .exec<GraceRow>("SELECT user_id, attendee, until FROM poker_leave_grace")
      .toArray();
  }
}
