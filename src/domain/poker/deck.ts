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

const NUMERIC = /^\d{1,6}(\.\d{1,3})?$/;

/** A point option of the deck ("5", "0.5"); "?" or "Too large" are votes, never story points. */
export function isPointChoice(choice: string): boolean {
  return NUMERIC.test(choice);
}

/** The story points for a deck option, or null when it is not a numeric option of this deck. */
export function storyPointsFor(choices: readonly string[], choice: string): number | null {
  if (!choices.includes(choice) || !isPointChoice(choice)) return null;
  return Number(choice);
}
