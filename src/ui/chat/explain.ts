/** Every failure the chat page can meet, said in words with what to do next; never a raw code. */
import { ThreadsApiError } from "../../client/threads";

export const TOKEN_REFUSED =
  "The server did not accept this token (401): it has expired, was revoked or is mistyped. Ask your app for a new client token and paste it below.";

/** The chat codes per field (`{"answers": ["WRONG_VALUE"]}`) in words. */
const CODES: Record<string, string> = {
  REQUIRED: "is required",
  WRONG_VALUE: "is not a valid value",
  WRONG_STATE: "is not possible in the conversation's current state",
  TOO_MANY: "has too many values",
  EXCLUSIVE: "cannot be combined with other answers",
  THREAD_IS_CLOSED: "cannot be sent: the thread is closed",
  NO_PERMISSIONS: "is not allowed for you",
  QUESTION_FROM_WRONG_SCHEMA: "belongs to another conversation",
  ALREADY_ANSWERED: "was already answered",
  NOT_ALLOWED: "is not allowed",
};

function fieldErrors(details: Record<string, string[]>): string {
  return Object.entries(details)
    .map(
      ([field, codes]) =>
        `${field === "non_field_errors" ? "This" : `The ${field}`} ${codes.map((c) => CODES[c] ?? c).join(", ")}.`,
    )
    .join(" ");
}

export function explain(err: unknown): string {
  if (err instanceof ThreadsApiError) {
    if (err.status === 401) return TOKEN_REFUSED;
    if (err.details && typeof err.details === "object") {
      const words = fieldErrors(err.details);
      if (words) return words;
    }
    if (err.status === 403) return "You are not allowed to do that in this thread.";
    if (err.status === 404) return "This thread does not exist any more.";
    if (err.status === 429) return "Too many requests at once; wait a few seconds and try again.";
    return err.message;
  }
  if (err instanceof TypeError) return "The server cannot be reached. Check your connection.";
  return err instanceof Error ? err.message : String(err);
}
