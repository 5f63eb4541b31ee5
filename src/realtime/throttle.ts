import * as time from "../platform/time";

/**
 * Runs the latest of the functions handed to it at most once per `intervalMs`: at once when the
 * previous run is older than that, else once at the window's end (the latest function only, so
 * a burst of changes costs one run). Unlike the presence `Coalescer`, a quiet room runs in the
 * same turn, so a frame still reaches its sockets before the reply of the command that caused it.
 */
export class Throttle {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastAt = Number.NEGATIVE_INFINITY;
  private pending: (() => void) | null = null;

  constructor(private readonly intervalMs: number) {}

  run(fn: () => void): void {
    const now = time.now();
    if (!this.timer && now - this.lastAt >= this.intervalMs) {
      this.lastAt = now;
      fn();
      return;
    }
    this.pending = fn;
    if (this.timer) return;
    // Bounded: a clock that moved back (a test's fake one) never holds a run longer.
    const wait = Math.min(this.intervalMs, Math.max(0, this.lastAt + this.intervalMs - now));
    this.timer = setTimeout(() => {
      this.timer = null;
      const pending = this.pending;
      this.pending = null;
      if (!pending) return;
      this.lastAt = time.now();
      pending();
    }, wait);
  }

  /** Drops the pending run: what it would have sent was sent some other way. */
  cancel(): void {
    this.pending = null;
  }
}
