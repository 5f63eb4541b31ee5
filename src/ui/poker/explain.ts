/** Every failure the page can meet, said in words with what to do next; never a raw code. */
import { PokerApiError } from "../../client/poker";
import { CredentialError } from "./credentials";

export const ORGANISER_LINK_DEAD =
  "Your organiser link no longer works: it was revoked or has expired. Ask your admin for a new organiser link.";
export const INVITE_DEAD =
  "This invite has expired or is not valid any more; ask the moderator for a new link.";
export const SESSION_ENDED = "This session has ended.";

export function explain(err: unknown): string {
  if (err instanceof CredentialError) {
    if (err.holder === "organiser") return ORGANISER_LINK_DEAD;
    if (err.holder === "invite") return INVITE_DEAD;
    return "The admin token was not accepted. Check it, or ask your admin for an organiser link.";
  }
  if (err instanceof PokerApiError) {
    if (err.status === 410) return SESSION_ENDED;
    if (err.status === 401) return "Your sign-in has expired. Reload the page to continue.";
    if (err.status === 403) return "You are not allowed to do that in this session.";
    if (err.status === 404) return "This session does not exist (check the link).";
    if (err.status === 429) return "Too many requests at once; wait a few seconds and try again.";
    return err.message;
  }
  if (err instanceof TypeError) return "The server cannot be reached. Check your connection.";
  return err instanceof Error ? err.message : String(err);
}
