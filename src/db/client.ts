import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

type Drizzle = ReturnType<typeof drizzle<typeof schema, D1Database>>;

/** Building drizzle's relational config walks every table: once per binding, not per query. */
const instances = new WeakMap<D1Database, Drizzle>();

/** The one way to reach D1: drizzle over the binding, with every table's schema. */
export function getDb(d1: D1Database): Drizzle {
  let db = instances.get(d1);
  if (!db) {
    db = drizzle(d1, { schema });
    instances.set(d1, db);
  }
  return db;
}

export type Db = Drizzle;
