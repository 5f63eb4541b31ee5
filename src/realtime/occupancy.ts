import { getDb } from "../platform/db";
import * as time from "../platform/time";
import { liveRooms } from "./schema";

/**
 * How long a room gathers joins and leaves before it writes its count: one D1 write per window
 * however many sockets come and go, and well inside the 10 s lag the stats may have (contract §9).
 */
export const OCCUPANCY_REPORT_MS = 2_000;
/** `last_event_at` is reported to the minute, so a busy room writes for activity once a minute. */
export const ACTIVITY_RESOLUTION_MS = 60_000;

/** What a room reports about itself into `live_rooms`. */
export interface Occupancy {
  sockets: number;
  /** Bus namespaces only. */
  messages24h: number | null;
  /** Epoch ms of the latest event, or null. */
  lastEventAt: number | null;
  /** Objects holding the room's listeners: the room and its shards with any (contract §10). */
  shards?: number;
}

/** The room's report as it would be written: equal signatures need no write. */
export function occupancySignature(o: Occupancy): string {
  return JSON.stringify([o.sockets, o.messages24h, toMinute(o.lastEventAt), o.shards ?? 1]);
}

/** Upserts the room's row; a room with no listeners keeps its row at 0 (pruned after a day). */
export async function writeOccupancy(
  d1: D1Database,
  kind: string,
  id: string,
  o: Occupancy,
): Promise<void> {
  const row = {
    sockets: o.sockets,
    shards: o.shards ?? 1,
    messages24h: o.messages24h,
    lastEventAt: toMinute(o.lastEventAt),
    updatedAt: time.now(),
  };
  await getDb(d1)
    .insert(liveRooms)
    .values({ kind, id, ...row })
    .onConflictDoUpdate({ target: [liveRooms.kind, liveRooms.id], set: row });
}

function toMinute(at: number | null): number | null {
  return at === null ? null : at - (at % ACTIVITY_RESOLUTION_MS);
}
