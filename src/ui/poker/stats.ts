/** Pure helpers of the results view: vote statistics and avatar initials. */
import { isPointChoice } from "../../client/poker";

export interface VoteStats {
  count: number;
  mean: number | null;
  median: number | null;
  min: number | null;
  max: number | null;
  /** Every vote, at least one, is the same choice (as the server's summary counts it). */
  consensus: boolean;
}

export function voteStats(votes: Record<string, { id: string }[]>): VoteStats {
  const entries = Object.entries(votes).filter(([, voters]) => voters.length > 0);
  const count = entries.reduce((n, [, voters]) => n + voters.length, 0);
  const numbers = entries
    .filter(([choice]) => isPointChoice(choice))
    .flatMap(([choice, voters]) => voters.map(() => Number(choice)))
    .sort((a, b) => a - b);
  const n = numbers.length;
  const median =
    n === 0 ? null : n % 2 ? numbers[(n - 1) / 2]! : (numbers[n / 2 - 1]! + numbers[n / 2]!) / 2;
  return {
    count,
    mean: n ? round(numbers.reduce((a, b) => a + b, 0) / n) : null,
    median,
    min: n ? numbers[0]! : null,
    max: n ? numbers[n - 1]! : null,
    consensus: entries.length === 1,
  };
}

const round = (x: number) => Math.round(x * 10) / 10;

export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters =
    words.length > 1
      ? [words[0]![0], words[words.length - 1]![0]]
      : [...(words[0] ?? "?")].slice(0, 2);
  return letters.join("").toUpperCase();
}

/** `m:ss` of the time left; never negative. */
export function clock(msLeft: number): string {
  const s = Math.max(0, Math.ceil(msLeft / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
