/**
 * The poker deck's one rule the page needs too: which options are points. It imports nothing,
 * so the poker page uses it without zod.
 */
const NUMERIC = /^\d{1,6}(\.\d{1,3})?$/;

/** A point option of the deck ("5", "0.5"); "?" or "Too large" are votes, never story points. */
export function isPointChoice(choice: string): boolean {
  return NUMERIC.test(choice);
}
