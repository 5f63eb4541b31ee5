import type { Member } from "./member";
import type { ShardReport } from "./shard-protocol";

/**
 * The members on a room's shards, by socket id, in the room's SQLite: kept from the shards'
 * reports so that presence across shards (who is listed, who counts for poker's auto-reveal)
 * can be merged from one place, and so it survives the room's eviction.
 */
export class ShardRoster<S> {
  /** The last report version taken per shard: an older report arriving late changes nothing. */
  private readonly versions = new Map<number, number>();

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS room_shard_members (
      sid TEXT PRIMARY KEY,
      shard INTEGER NOT NULL,
      member TEXT NOT NULL
    )`);
  }

  /** Applies a report; false when it was older than one already applied. */
  apply(report: ShardReport<S>): boolean {
    if ((this.versions.get(report.shard) ?? 0) > report.version) return false;
    this.versions.set(report.shard, report.version);
    if (report.present) {
      // A fresh object of the shard: members it no longer holds went with its eviction.
      this.sql.exec(
        `DELETE FROM room_shard_members
         WHERE shard = ? AND sid NOT IN (SELECT value FROM json_each(?))`,
        report.shard,
        JSON.stringify(report.present),
      );
    }
    for (const member of report.joined) {
      if (!member.sid) continue;
      this.sql.exec(
        `INSERT INTO room_shard_members (sid, shard, member) VALUES (?, ?, ?)
         ON CONFLICT(sid) DO UPDATE SET member = excluded.member`,
        member.sid,
        report.shard,
        JSON.stringify(member),
      );
    }
    for (const member of report.left) {
      if (member.sid) this.sql.exec("DELETE FROM room_shard_members WHERE sid = ?", member.sid);
    }
    return true;
  }

  members(): Member<S>[] {
    return this.sql
      .exec<{ member: string }>("SELECT member FROM room_shard_members ORDER BY sid")
      .toArray()
      .map((row) => JSON.parse(row.member) as Member<S>);
  }
}
