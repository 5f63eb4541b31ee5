/**
 * The round timer in the header: the server says when it ends (`timer_changed`), every page
 * counts down on its own clock. Moderators start and stop it.
 */
import type { PokerTimer } from "../../protocol/poker-events";
import { clock } from "./stats";
import { $, announce } from "./view";

export class RoundTimer {
  private endsAt: number | null = null;
  private tick: ReturnType<typeof setInterval> | null = null;

  set(timer: PokerTimer | null | undefined, quiet = false): void {
    const endsAt = timer?.ends_at ? Date.parse(timer.ends_at) : null;
    if (!quiet && endsAt !== this.endsAt) {
      announce(
        endsAt && timer?.seconds
          ? `Timer started: ${clock(timer.seconds * 1000)} for this round.`
          : "Timer stopped.",
      );
    }
    this.endsAt = endsAt;
    if (this.tick) clearInterval(this.tick);
    this.tick = endsAt ? setInterval(() => this.draw(), 1000) : null;
    this.draw();
  }

  private draw(): void {
    const badge = $("timer");
    badge.hidden = this.endsAt === null;
    if (this.endsAt === null) return;
    const left = this.endsAt - Date.now();
    badge.textContent = left > 0 ? `${clock(left)} left` : "Time is up";
    badge.dataset.state = left > 0 ? (left < 15_000 ? "ending" : "running") : "over";
    if (left <= 0 && this.tick) {
      clearInterval(this.tick);
      this.tick = null;
      announce("Time is up.");
    }
  }
}
