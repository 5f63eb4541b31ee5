import { and, desc, eq, gt, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db";
import { apiKeys } from "./schema";

export type ApiKeyRow = typeof apiKeys.$inferSelect;

/** Not revoked and not expired at `now` (epoch ms). */
function liveAt(now: number): SQL {
  return and(
    isNull(apiKeys.revokedAt),
    or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)),
  ) as SQL;
}

export async function insertApiKey(db: Db, row: ApiKeyRow): Promise<void> {
  await db.insert(apiKeys).values(row);
}

/** The live key with this hash, or null (unknown, revoked or expired alike). */
export async function findLiveKeyByHash(db: Db, keyHash: string, now: number) {
  return (
    (await db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, keyHash), liveAt(now)))
      .get()) ?? null
  );
}

/**
 * Which of `ids` are live keys: one query, whatever the number of ids. The ids travel as one
 * JSON parameter (`json_each`), since D1 allows only 100 bound parameters per statement.
 */
export async function selectLiveKeyIds(db: Db, ids: string[], now: number): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(
      and(sql`${apiKeys.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`, liveAt(now)),
    );
  return rows.map((r) => r.id);
}

/** Newest first; `limit + 1` rows so the caller can tell whether there is a next page. */
export async function listApiKeys(db: Db, limit: number, offset: number) {
  return db
    .select()
    .from(apiKeys)
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
    .limit(limit)
    .offset(offset);
}

/** Marks the key revoked (once: a second revoke keeps the first time). False when unknown. */
export async function revokeApiKey(db: Db, id: string, now: number): Promise<boolean> {
  const key = await db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.id, id)).get();
  if (!key) return false;
  await db
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)));
  return true;
}

/** Records a use, unless one was recorded after `since` (another isolate may have done it). */
export async function touchApiKey(db: Db, id: string, now: number, since: number): Promise<void> {
  await db
    .update(apiKeys)
    .set({ lastUsedAt: now })
    .where(and(eq(apiKeys.id, id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, since))));
}
