import * as time from "../platform/time";

/**
 * Runs the latest of the functions handed to it at most once per interval (asked of the caller:
 * it may follow the room's size): at once when the previous run is older than that, else once at
 * the window's end (the latest function only, so a burst of changes costs one run). Unlike the
 * presence `Coalescer`, a quiet room runs in the same turn, so a frame still reaches its sockets
 * before the reply of the command that caused it.
 */
export class Throttle {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastAt = Number.NEGATIVE_INFINITY;
  private pending: (() => void) | null = null;

  /**
   * True when `fn` ran at once, false when it waits for the window's end. `interval` is asked
   * only when a run is due or must be timed, not for each call of a burst.
   */
  run(interval: () => number, fn: () => void): boolean {
    if (this.timer) {
      this.pending = fn;
      return false;
    }
    const now = time.now();
    const intervalMs = interval();
    if (now - this.lastAt >= intervalMs) {
      this.lastAt = now;
      fn();
      return true;
    }
    this.pending = fn;
    // Bounded: a clock that moved back (a test's fake one) never holds a run longer.
    const wait = Math.min(intervalMs, Math.max(0, this.lastAt + intervalMs - now));
    this.timer = setTimeout(() => {
      this.timer = null;
      const pending = this.pending;
      this.pending = null;
      if (!pending) return;
      this.lastAt = time.now();
      pending();
    }, wait);
    return false;
  }

  /** Drops the pending run: what it would have sent was sent some other way. */
  cancel(): void {
    this.pending = null;
  }
}
