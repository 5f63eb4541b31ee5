import type { PokerStoryStats, PokerSummary } from "../../protocol/poker-rest";
import { isPointChoice } from "./deck";
import type { PokerSessionRow, PokerStoryRow } from "./queries";
import { type VoteRecord, votesByChoice } from "./story-view";

/**
 * The end-of-session summary (contract §3). A story's votes are shown as revealed: a story
 * whose votes are revealed now shows them (they are what everyone saw); one never revealed, or
 * reset or hidden again since, shows none, with a count of 0, so the summary never discloses a
 * vote the room kept hidden. Stats are over numeric options only; `mean` is rounded to 2 decimals.
 */
export function pokerSummary(
  session: PokerSessionRow,
  stories: PokerStoryRow[],
  votesByStory: Map<string, VoteRecord[]>,
): PokerSummary {
  return {
    id: session.id,
    name: session.name,
    ended: session.endedAt !== null,
    end_redirect_url: session.endRedirectUrl,
    stories: stories.map((story) => {
      const votes = story.revealed ? (votesByStory.get(story.id) ?? []) : [];
      return {
        id: story.id,
        story_label: story.storyLabel,
        story_points: story.storyPoints,
        votes: Object.fromEntries(votesByChoice(votes, session.choices)),
        stats: voteStats(votes.map((v) => v.choice)),
      };
    }),
  };
}

export function voteStats(choices: string[]): PokerStoryStats {
  const numbers = choices
    .filter(isPointChoice)
    .map(Number)
    .sort((a, b) => a - b);
  const count = choices.length;
  const consensus = count > 0 && choices.every((c) => c === choices[0]);
  if (!numbers.length) return { count, mean: null, median: null, min: null, max: null, consensus };
  const mid = Math.floor(numbers.length / 2);
  const median =
    numbers.length % 2
      ? (numbers[mid] as number)
      : ((numbers[mid - 1] as number) + (numbers[mid] as number)) / 2;
  const mean = round2(numbers.reduce((sum, n) => sum + n, 0) / numbers.length);
  return {
    count,
    mean,
    median,
    min: numbers[0] as number,
    max: numbers[numbers.length - 1] as number,
    consensus,
  };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
