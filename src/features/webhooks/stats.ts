import { and, count, eq, gte, inArray, ne, sql } from "drizzle-orm";
import { getDb } from "../../platform/db";
import * as time from "../../platform/time";
import { webhookAttempts, webhookDeliveries, webhooks } from "./schema";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface WebhookStats {
  hooks_active: number;
  deliveries_pending: number;
  deliveries_failed_24h: number;
  /** Succeeded attempts over finished attempts in the last 24 h; null when none finished. */
  success_rate_24h: number | null;
}

/** The webhook figures of `GET /api/stats` (contract §9), four indexed counts in one batch. */
export async function webhookStats(env: Env): Promise<WebhookStats> {
  const db = getDb(env.DB);
  const since = time.now() - DAY_MS;
  const [hooks, pending, failed, attempts] = await db.batch([
    db.select({ n: count() }).from(webhooks).where(eq(webhooks.isActive, true)),
    db
      .select({ n: count() })
      .from(webhookDeliveries)
      .where(inArray(webhookDeliveries.status, ["pending", "retrying"])),
    db
      .select({ n: count() })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.status, "failed"), gte(webhookDeliveries.updatedAt, since))),
    // A `pending` attempt is still running: only finished ones count towards the rate.
    db
      .select({
        finished: count(),
        succeeded: sql<number>`COALESCE(SUM(${webhookAttempts.status} = 'succeeded'), 0)`,
      })
      .from(webhookAttempts)
      .where(and(gte(webhookAttempts.createdAt, since), ne(webhookAttempts.status, "pending"))),
  ]);
  const finished = attempts[0]?.finished ?? 0;
  return {
    hooks_active: hooks[0]?.n ?? 0,
    deliveries_pending: pending[0]?.n ?? 0,
    deliveries_failed_24h: failed[0]?.n ?? 0,
    success_rate_24h: finished ? Number(attempts[0]?.succeeded ?? 0) / finished : null,
  };
}
