import { and, asc, eq, inArray, isNull, lt, lte, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db";
import { idempotencyKeys } from "./schema";

export type KeyRow = typeof idempotencyKeys.$inferSelect;

/** A request's claim on a key: who it is (`lock`), and what it says it is. */
export interface KeyClaim {
  id: string;
  request: string;
  fingerprint: string;
  lock: string;
}

/**
 * Claims the key for one run, in one transaction: a row older than `expiredBefore` is dropped
 * first; a new key is inserted locked; a known one is taken over only when it has no answer, no
 * run holds it (or its run stopped answering before `staleBefore`), and it was first used with
 * the same request. Answers the row as it is afterwards: it is ours when its lock is `claim.lock`.
 */
export async function claimKey(
  db: Db,
  claim: KeyClaim,
  now: number,
  expiredBefore: number,
  staleBefore: number,
): Promise<KeyRow> {
  const k = idempotencyKeys;
  const [, , rows] = await db.batch([
    db.delete(k).where(and(eq(k.id, claim.id), lte(k.createdAt, expiredBefore))),
    db
      .insert(k)
      .values({ ...claim, createdAt: now, lockedAt: now })
      .onConflictDoUpdate({
        target: k.id,
        set: { lock: sql`excluded.lock`, lockedAt: sql`excluded.locked_at` },
        setWhere: and(
          isNull(k.status),
          or(isNull(k.lock), lte(k.lockedAt, staleBefore)),
          eq(k.request, sql`excluded.request`),
          eq(k.fingerprint, sql`excluded.fingerprint`),
        ),
      }),
    db.select().from(k).where(eq(k.id, claim.id)),
  ]);
  return rows[0]!;
}

/** Stores the run's answer and frees the key, if the run still holds it. */
export async function storeAnswer(
  db: Db,
  id: string,
  lock: string,
  answer: { status: number; contentType: string | null; body: string },
): Promise<void> {
  await db
    .update(idempotencyKeys)
    .set({ ...answer, lock: null })
    .where(and(eq(idempotencyKeys.id, id), eq(idempotencyKeys.lock, lock)));
}

/**
 * Frees a key whose run has no answer to keep: forgotten, unless the run recorded what it
 * created (then the next run with the key answers that instead of creating it again).
 */
export async function releaseKey(db: Db, id: string, lock: string): Promise<void> {
  const k = idempotencyKeys;
  const held = and(eq(k.id, id), eq(k.lock, lock));
  await db.batch([
    db.delete(k).where(and(held, isNull(k.createdRef))),
    db.update(k).set({ lock: null }).where(held),
  ]);
}

/** For a creating write's own batch: the key `id` created `ref` (an expression of the batch). */
export function recordCreated(db: Db, id: string, ref: SQL) {
  return db
    .update(idempotencyKeys)
    .set({ createdRef: sql`CAST(${ref} AS TEXT)` })
    .where(eq(idempotencyKeys.id, id));
}

/**
 * Deletes up to `limit` keys created before `before` (epoch ms), oldest first, and answers how
 * many went. D1 has no `DELETE … LIMIT`, so the rows are picked by `rowid` through the index.
 */
export async function deleteKeysBefore(db: Db, before: number, limit: number): Promise<number> {
  const oldest = db
    .select({ rowid: sql`rowid` })
    .from(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, before))
    .orderBy(asc(idempotencyKeys.createdAt))
    .limit(limit);
  const result = await db.delete(idempotencyKeys).where(inArray(sql`rowid`, oldest)).run();
  return result.meta.changes;
}
