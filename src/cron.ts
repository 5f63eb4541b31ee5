import { pruneIdleRooms } from "./features/ops/queries";
import { scanUndelivered } from "./features/webhooks/scan";
import { pruneIdempotencyKeys } from "./platform/idempotency/retention";
import { logger } from "./platform/log";

/** Every job of the cron trigger (`[triggers]` in wrangler.toml), by the name its log uses. */
const PERIODIC_JOBS: Record<string, (env: Env) => Promise<unknown>> = {
  "webhook delivery scan": scanUndelivered,
  "idempotency-key pruning": pruneIdempotencyKeys,
  "idle live-room pruning": pruneIdleRooms,
};

/** Runs every periodic job at once; one failing is logged and does not stop the others. */
export async function runPeriodicJobs(env: Env): Promise<void> {
  const jobs = Object.entries(PERIODIC_JOBS);
  const results = await Promise.allSettled(jobs.map(([, job]) => job(env)));
  results.forEach((result, i) => {
    if (result.status === "rejected") {
      logger.error(`Cron: ${jobs[i]![0]} failed`, {
        event: "cron.job_failed",
        error: result.reason,
      });
    }
  });
}
