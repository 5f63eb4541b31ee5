import type { PokerTimer } from "../../protocol/poker-events";

/** The round timer as the room stores it: when it runs out (epoch ms) and its length. */
export interface RoundTimer {
  endsAt: number;
  seconds: number;
}

export const NO_TIMER: PokerTimer = { ends_at: null, seconds: null };

export function startTimer(seconds: number, now: number): RoundTimer {
  return { endsAt: now + seconds * 1000, seconds };
}

/**
 * The timer while it runs, else null. Nothing happens on the server when it runs out: clients
 * show it, and a timer that ran out is simply no longer sent.
 */
export function runningTimer(timer: RoundTimer | null, now: number): RoundTimer | null {
  return timer && timer.endsAt > now ? timer : null;
}

export function timerJson(timer: RoundTimer | null): PokerTimer {
  return timer
    ? { ends_at: new Date(timer.endsAt).toISOString(), seconds: timer.seconds }
    : NO_TIMER;
}
