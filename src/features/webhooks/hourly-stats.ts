import * as time from "../../platform/time";

const HOUR_MS = 60 * 60 * 1000;

export interface HourBucket {
  /** The hour's start, ISO 8601. */
  start: string;
  /** Finished attempts (a running one counts when it ends). */
  attempts: number;
  succeeded: number;
  failed: number;
  /** Nearest-rank percentiles of the finished attempts' durations; null for an empty hour. */
  p50_ms: number | null;
  p95_ms: number | null;
}

interface CountRow {
  b: number;
  attempts: number;
  succeeded: number;
}

interface PercentileRow {
  b: number;
  p50: number | null;
  p95: number | null;
}

/**
 * One hook's attempts over the last `hours` whole hours (the current one included), oldest first,
 * every hour present even when empty so a chart needs no gaps filled. Percentiles are computed by
 * SQLite's window functions, so no attempt row leaves D1.
 */
export async function hourlyAttemptStats(
  d1: D1Database,
  webhookId: string,
  hours: number,
): Promise<HourBucket[]> {
  const first = Math.floor(time.now() / HOUR_MS) * HOUR_MS - (hours - 1) * HOUR_MS;
  // D1 binds JS numbers as REAL, so the hour index is cast back to an integer.
  // `pending` attempts are still running: they have no outcome or duration yet.
  const window = `SELECT CAST((created_at - ?1) / ${HOUR_MS} AS INTEGER) AS b, status, duration_ms FROM webhook_attempts
    WHERE webhook_id = ?2 AND created_at >= ?1 AND status != 'pending'`;
  const [counts, percentiles] = await d1.batch<CountRow | PercentileRow>([
    d1
      .prepare(
        `SELECT b, COUNT(*) AS attempts, SUM(status = 'succeeded') AS succeeded
         FROM (${window}) GROUP BY b`,
      )
      .bind(first, webhookId),
    d1
      .prepare(
        `SELECT b,
           MAX(CASE WHEN rn = (n * 50 + 99) / 100 THEN d END) AS p50,
           MAX(CASE WHEN rn = (n * 95 + 99) / 100 THEN d END) AS p95
         FROM (SELECT b, duration_ms AS d,
                 ROW_NUMBER() OVER (PARTITION BY b ORDER BY duration_ms) AS rn,
                 COUNT(*) OVER (PARTITION BY b) AS n
               FROM (${window}) WHERE duration_ms IS NOT NULL)
         GROUP BY b`,
      )
      .bind(first, webhookId),
  ]);
  const byHour = new Map<number, HourBucket>();
  for (let b = 0; b < hours; b++) {
    byHour.set(b, {
      start: new Date(first + b * HOUR_MS).toISOString(),
      attempts: 0,
      succeeded: 0,
      failed: 0,
      p50_ms: null,
      p95_ms: null,
    });
  }
  for (const row of (counts?.results ?? []) as CountRow[]) {
    const bucket = byHour.get(row.b);
    if (!bucket) continue;
    bucket.attempts = row.attempts;
    bucket.succeeded = row.succeeded;
    bucket.failed = row.attempts - row.succeeded;
  }
  for (const row of (percentiles?.results ?? []) as PercentileRow[]) {
    const bucket = byHour.get(row.b);
    if (!bucket) continue;
    bucket.p50_ms = row.p50;
    bucket.p95_ms = row.p95;
  }
  return [...byHour.values()];
}
