import { isPointChoice } from "../../protocol/poker-deck";

/** The numeric-option rule is the protocol's (the poker page uses it too). */
export { isPointChoice } from "../../protocol/poker-deck";

/** The original's deck: Fibonacci-like points plus two non-point options. */
export const DEFAULT_CHOICES = [
  "1",
  "2",
  "3",
  "5",
  "8",
  "13",
  "21",
  "34",
  "Too large",
  "No idea",
] as const;

export const DEFAULT_END_REDIRECT_URL = "/poker/";

/** The story points for a deck option, or null when it is not a numeric option of this deck. */
export function storyPointsFor(choices: readonly string[], choice: string): number | null {
  if (!choices.includes(choice) || !isPointChoice(choice)) return null;
  return Number(choice);
}
