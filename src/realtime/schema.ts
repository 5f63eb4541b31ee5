import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * What each room last reported about itself (contract §9): written by the room, in batches, when
 * its count changes (see `occupancy.ts`), so counting rooms never wakes one. A room whose last
 * socket left keeps its row with `sockets = 0` (the bus's `messages_24h` stays useful); the
 * cron prunes rows idle for a day.
 */
export const liveRooms = sqliteTable(
  "live_rooms",
  {
    kind: text("kind").notNull(),
    id: text("id").notNull(),
    /** Open sockets; for the bus also its SSE streams and parked long polls. */
    sockets: integer("sockets").notNull(),
    /** The room object plus its shard objects that hold listeners (contract §10). */
    shards: integer("shards").notNull().default(1),
    /** Bus namespaces only: messages stored in the last 24 h when the row was written. */
    messages24h: integer("messages_24h"),
    /** Epoch ms of the room's latest event, to the minute; null before its first. */
    lastEventAt: integer("last_event_at"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.kind, t.id] }),
    index("live_rooms_kind_sockets").on(t.kind, t.sockets),
    index("live_rooms_updated").on(t.updatedAt),
  ],
);
