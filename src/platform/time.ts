/**
 * The one clock of the server: expiries, retention, alarms, rate windows and stored timestamps
 * all read the time here. Tests' fake timers replace `Date`, so they move this clock too.
 */
export function now(): number {
  return Date.now();
}

/** `now()` as a Date. */
export function nowDate(): Date {
  return new Date(now());
}

/** `now()` in ISO 8601, as timestamps are stored in D1. */
export function nowIso(): string {
  return nowDate().toISOString();
}
