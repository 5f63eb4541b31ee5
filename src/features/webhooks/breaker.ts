import { sql } from "drizzle-orm";
import { webhooks } from "./schema";

/**
 * The circuit breaker of contract §6: what one attempt does to its hook's health. Any failed
 * attempt starts (or continues) the hook's failing run, `failing_since`; any success ends it. A
 * failure when the run is `DISABLE_AFTER_HOURS` old, or a `410 Gone`, disables the hook. A
 * disabled hook is probed back to life (probe.ts); PATCH `is_active: true` also re-enables it.
 */

/** Contract §6: a hook failing this long without a success is disabled. */
export const DEFAULT_DISABLE_AFTER_HOURS = 120;

export function disableAfterMs(env: Pick<Env, "DISABLE_AFTER_HOURS">): number {
  const hours = Number.parseFloat(env.DISABLE_AFTER_HOURS ?? "");
  return (Number.isFinite(hours) && hours > 0 ? hours : DEFAULT_DISABLE_AFTER_HOURS) * 3_600_000;
}

/** The `webhook.endpoint_disabled` event an automatic disable records (endpoint-disabled.ts). */
export interface TripEvent {
  uuid: string;
  eventType: string;
  /** JSON of `data`. */
  data: string;
  onlyOwner?: string;
}

/**
 * An attempt that may disable its hook: the reason, and the event to record if it does. The
 * disable is decided again in SQL (the hook's row may have changed since it was read), and the
 * event is recorded only by the statement that actually disabled it (see `hookPatch`).
 */
export interface Trip {
  reason: string;
  /** How old the failing run must be, in ms (0: at once, as on 410). */
  afterMs: number;
  event: TripEvent;
}

/** What an attempt does to its hook's health. */
export type HookEffect =
  | { kind: "succeeded" }
  /** `final`: the delivery gave up (counted in `consecutive_failures`). */
  | { kind: "failed"; final: boolean; trip: Trip | null };

/**
 * The hook's columns to set for `effect`, in SQL so concurrent attempts of one hook neither lose
 * a count nor both disable it: the disable happens only while the hook is active, and writes
 * the trip's event uuid to `disabled_event`, which is what conditions that event's recording.
 */
export function hookPatch(effect: HookEffect, at: number) {
  if (effect.kind === "succeeded") {
    return { consecutiveFailures: 0, failingSince: null, updatedAt: at };
  }
  const { final, trip } = effect;
  const base = {
    consecutiveFailures: final
      ? sql`${webhooks.consecutiveFailures} + 1`
      : sql`${webhooks.consecutiveFailures}`,
    failingSince: sql`COALESCE(${webhooks.failingSince}, ${at})`,
    updatedAt: at,
  };
  if (!trip) return base;
  // SET expressions read the row as it was: `failing_since` is the run's start before this attempt.
  const reached = sql`(${webhooks.isActive} = 1 AND COALESCE(${webhooks.failingSince}, ${at}) <= ${at - trip.afterMs})`;
  return {
    ...base,
    isActive: sql`CASE WHEN ${reached} THEN 0 ELSE ${webhooks.isActive} END`,
    disabledReason: sql`CASE WHEN ${reached} THEN ${trip.reason} ELSE ${webhooks.disabledReason} END`,
    disabledEvent: sql`CASE WHEN ${reached} THEN ${trip.event.uuid} ELSE ${webhooks.disabledEvent} END`,
  };
}

/** The condition, true after `hookPatch`, that this trip disabled hook `hookId`. */
export function tripped(hookId: string, trip: Trip) {
  return sql`EXISTS (SELECT 1 FROM ${webhooks} WHERE ${webhooks.id} = ${hookId} AND ${webhooks.disabledEvent} = ${trip.event.uuid})`;
}
