/**
 * Minting the page's own short tokens (`POST /api/tokens`) with an organiser's API key or the
 * admin token; the poker calls themselves are the SDK's `PokerApi`. Errors are
 * `PokerApiError`s, as the SDK's, so one function explains them all (`explain.ts`).
 */
import { PokerApiError } from "../../client/poker";

export interface MintedToken {
  token: string;
  expires_at: string;
}

/** `POST /api/tokens` with an organiser's API key or the admin token. */
export async function mintToken(
  secret: string,
  body: Record<string, unknown>,
): Promise<MintedToken> {
  const res = await fetch(new URL("/api/tokens", location.origin), {
    method: "POST",
    headers: { Authorization: `Bearer ${secret}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.ok) return (await res.json()) as MintedToken;
  throw await PokerApiError.from(res);
}
