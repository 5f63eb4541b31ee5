import { and, asc, desc, eq, gt, lt, or } from "drizzle-orm";
import { getDb } from "../../platform/db";
import * as time from "../../platform/time";
import { liveRooms } from "../../realtime/schema";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface RoomTotals {
  rooms: Record<string, { active: number; sockets: number }>;
  bus: Record<string, { messages_24h: number; subscribers: number }>;
}

/**
 * Totals per room kind and per bus namespace, from what the rooms reported (no room is asked).
 * A namespace's `messages_24h` is as of its last report; an empty room not heard of for a day
 * is left out (a hibernated room with sockets writes nothing, and is still counted).
 */
export async function roomTotals(d1: D1Database): Promise<RoomTotals> {
  const rows = await getDb(d1)
    .select()
    .from(liveRooms)
    .where(or(gt(liveRooms.sockets, 0), gt(liveRooms.updatedAt, time.now() - DAY_MS)))
    .orderBy(asc(liveRooms.kind), asc(liveRooms.id));
  const totals: RoomTotals = { rooms: {}, bus: {} };
  for (const row of rows) {
    const kind = totals.rooms[row.kind] ?? { active: 0, sockets: 0 };
    totals.rooms[row.kind] = {
      active: kind.active + (row.sockets > 0 ? 1 : 0),
      sockets: kind.sockets + row.sockets,
    };
    if (row.kind === "bus") {
      totals.bus[row.id] = { messages_24h: row.messages24h ?? 0, subscribers: row.sockets };
    }
  }
  return totals;
}

export interface LiveRoom {
  kind: string;
  id: string;
  sockets: number;
  shards: number;
  last_event_at: string | null;
}

/** Rooms with at least one socket, busiest first; `limit + 1` rows to tell a next page. */
export async function liveRoomPage(
  d1: D1Database,
  kind: string | undefined,
  limit: number,
  offset: number,
): Promise<LiveRoom[]> {
  const live = gt(liveRooms.sockets, 0);
  const rows = await getDb(d1)
    .select()
    .from(liveRooms)
    .where(kind === undefined ? live : and(eq(liveRooms.kind, kind), live))
    .orderBy(desc(liveRooms.sockets), asc(liveRooms.kind), asc(liveRooms.id))
    .limit(limit + 1)
    .offset(offset);
  return rows.map((r) => ({
    kind: r.kind,
    id: r.id,
    sockets: r.sockets,
    shards: r.shards,
    last_event_at: r.lastEventAt === null ? null : new Date(r.lastEventAt).toISOString(),
  }));
}

/** Rows of rooms empty and silent for a day: a room writes its row again when it is used. */
export async function pruneIdleRooms(env: Env): Promise<void> {
  await getDb(env.DB)
    .delete(liveRooms)
    .where(and(eq(liveRooms.sockets, 0), lt(liveRooms.updatedAt, time.now() - DAY_MS)));
}
