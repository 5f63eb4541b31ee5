import { logger, redact } from "../log";
import * as time from "../time";

/** How many errors D1 keeps: enough for the console, small enough to read in one page. */
export const RECENT_ERRORS_KEPT = 200;

export interface ErrorEntry {
  event: string;
  message: string;
  request_id?: string;
  room?: string;
  error?: unknown;
}

/**
 * Stores one error for the console beside its log line (the logger itself has no env). The
 * text goes through the logger's redaction; the rows beyond the newest `RECENT_ERRORS_KEPT`
 * are deleted in the same batch. Never throws: with `waitUntil` the write outlives the
 * response, and a failed write is only logged (the error being reported matters more).
 */
export function recordError(
  env: Pick<Env, "DB">,
  entry: ErrorEntry,
  waitUntil?: (p: Promise<unknown>) => void,
): Promise<void> {
  const detail = entry.error instanceof Error ? `: ${describe(entry.error)}` : "";
  const write = env.DB.batch([
    env.DB.prepare(
      "INSERT INTO recent_errors (at, request_id, room, event, message) VALUES (?, ?, ?, ?, ?)",
    ).bind(
      time.now(),
      entry.request_id === undefined ? null : redact(entry.request_id),
      entry.room === undefined ? null : redact(entry.room),
      redact(entry.event),
      redact(`${entry.message}${detail}`),
    ),
    env.DB.prepare(
      `DELETE FROM recent_errors WHERE id <= (SELECT id FROM recent_errors ORDER BY id DESC
         LIMIT 1 OFFSET ?)`,
    ).bind(RECENT_ERRORS_KEPT),
  ])
    .then(() => undefined)
    // A warning, not an error: only errors are recorded, so a D1 outage cannot loop back here.
    .catch((err: unknown) => {
      logger.warn("Could not store a recent error", {
        event: "recent_errors.write_failed",
        error: err,
      });
    });
  waitUntil?.(write);
  return write;
}

/**
 * The error's first line and its cause's: drizzle puts a failed query's bound values on later
 * lines (`params: …`), and those can be a request's body.
 */
function describe(err: Error): string {
  const first = (text: string) => text.split("\n", 1)[0] ?? "";
  const cause = err.cause instanceof Error ? ` (${first(err.cause.message)})` : "";
  return `${first(err.message)}${cause}`;
}
