import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * `Idempotency-Key`s of creating POSTs (src/platform/idempotency/middleware.ts). Neither the key nor the
 * answer is stored readable: `id` and the encryption of `body` are derived from TOKEN_SECRET, the
 * caller and the client's key, so a reader of the database cannot tell which key a row is for or
 * recover a secret an answer carried (a minted token, an API key, a hook's secret). Times are
 * epoch ms; rows older than 24 h are ignored and pruned by the cron trigger (`created_at` index).
 */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    /** Hex of bits derived (HKDF) from TOKEN_SECRET, the caller and the key. */
    id: text("id").primaryKey(),
    /** `<METHOD> <path>` the key was first used on: on another route it is refused (422). */
    request: text("request").notNull(),
    /** Hex HMAC of the canonical body under a key derived like `id`. */
    fingerprint: text("fingerprint").notNull(),
    createdAt: integer("created_at").notNull(),
    /** Set while a request runs under the key; another one with the key waits for its answer. */
    lock: text("lock"),
    lockedAt: integer("locked_at"),
    /**
     * What the first run created, written in that write's own D1 batch: a retry after a crash
     * between the write and the stored answer finds it instead of creating it again.
     */
    createdRef: text("created_ref"),
    /** The stored answer: null until the first run finished with an answer worth replaying. */
    status: integer("status"),
    contentType: text("content_type"),
    /** Base64 of the AES-GCM IV and ciphertext of the answer's body. */
    body: text("body"),
  },
  (t) => [index("idempotency_keys_created_at").on(t.createdAt)],
);
