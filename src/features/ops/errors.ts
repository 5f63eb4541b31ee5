import { desc, gt } from "drizzle-orm";
import { getDb } from "../../platform/db";
import { recentErrors } from "../../platform/recent-errors/schema";

export interface RecentError {
  id: number;
  at: string;
  request_id: string | null;
  room: string | null;
  event: string;
  message: string;
}

/** Newest first; `limit + 1` rows to tell a next page. Only those after `afterId` when given. */
export async function recentErrorPage(
  d1: D1Database,
  limit: number,
  offset: number,
  afterId = 0,
): Promise<RecentError[]> {
  const rows = await getDb(d1)
    .select()
    .from(recentErrors)
    .where(gt(recentErrors.id, afterId))
    .orderBy(desc(recentErrors.id))
    .limit(limit + 1)
    .offset(offset);
  return rows.map((r) => ({
    id: r.id,
    at: new Date(r.at).toISOString(),
    request_id: r.requestId,
    room: r.room,
    event: r.event,
    message: r.message,
  }));
}
