import { integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * API keys: long-lived, revocable credentials of one user. Only the SHA-256 of the key is
 * stored; a revoked key keeps its row (with `revoked_at`) so its name and last use stay
 * visible. Times are epoch ms, so liveness is one comparison in SQL.
 */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    userId: text("user_id").notNull(),
    userName: text("user_name").notNull(),
    permissions: text("permissions", { mode: "json" }).$type<string[]>().notNull(),
    /** Hex SHA-256 of the whole key (`sbk_…`). */
    keyHash: text("key_hash").notNull(),
    createdAt: integer("created_at").notNull(),
    /** Null: the key never expires. */
    expiresAt: integer("expires_at"),
    lastUsedAt: integer("last_used_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_key_hash").on(t.keyHash)],
);
