import { drizzle } from "drizzle-orm/d1";

type Drizzle = ReturnType<typeof drizzle<Record<string, never>, D1Database>>;

/** One drizzle instance per binding, not per query. */
const instances = new WeakMap<D1Database, Drizzle>();

/**
 * The one way to reach D1: drizzle over the binding. Each feature keeps its tables in its own
 * `schema.ts` and passes them to the query builder; no relational (`db.query`) config is built,
 * so the platform needs no feature's tables.
 */
export function getDb(d1: D1Database): Drizzle {
  let db = instances.get(d1);
  if (!db) {
    db = drizzle(d1);
    instances.set(d1, db);
  }
  return db;
}

export type Db = Drizzle;
