import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * The newest server errors (contract §9, the console's "recent errors"), kept in D1 so an
 * operator sees them without log access. Only the logger's fields, already redacted: never a
 * body or a credential. Capped at `RECENT_ERRORS_KEPT` rows on every insert.
 */
export const recentErrors = sqliteTable("recent_errors", {
  /** Grows with each insert: the order of errors and the cursor of the console stream. */
  id: integer("id").primaryKey({ autoIncrement: true }),
  /** Epoch ms. */
  at: integer("at").notNull(),
  requestId: text("request_id"),
  /** `<Class>:<room id>` of the Durable Object, as in the log line. */
  room: text("room"),
  event: text("event").notNull(),
  message: text("message").notNull(),
});
