/**
 * The REST calls the page makes beside the SDK's `PokerApi`: minting its own short tokens, the
 * invite preview of the join page and the end-of-session summary. Errors are `PokerApiError`s,
 * as the SDK's, so one function explains them all (`explain.ts`).
 */
import { PokerApiError } from "../../client/poker";
import type { PokerInvitePreview, PokerSummary } from "../../protocol/poker-rest";

export type { PokerInvitePreview, PokerSummary };

export interface MintedToken {
  token: string;
  expires_at: string;
}

async function call<T>(path: string, init: RequestInit): Promise<T> {
  const res = await fetch(new URL(path, location.origin), init);
  if (!res.ok) {
    const json = (await res.json().catch(() => null)) as {
      error?: { code: string; message: string };
    } | null;
    throw new PokerApiError(
      res.status,
      json?.error?.code ?? "internal",
      json?.error?.message ?? `HTTP ${res.status}`,
    );
  }
  return (res.headers.get("content-type")?.includes("json") ? res.json() : res.text()) as T;
}

const sessionPath = (id: string) => `/api/poker/sessions/${encodeURIComponent(id)}`;

/** `POST /api/tokens` with an organiser's API key or the admin token. */
export function mintToken(secret: string, body: Record<string, unknown>): Promise<MintedToken> {
  return call("/api/tokens", {
    method: "POST",
    headers: { Authorization: `Bearer ${secret}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** Whose session an invite opens and whether it has ended; needs no token. */
export function invitePreview(sessionId: string, invite: string): Promise<PokerInvitePreview> {
  return call(`${sessionPath(sessionId)}/invite-preview`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ invite }),
  });
}

export function summary(token: string, sessionId: string): Promise<PokerSummary> {
  return call(`${sessionPath(sessionId)}/summary`, {
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
  });
}

export function summaryCsv(token: string, sessionId: string): Promise<string> {
  return call(`${sessionPath(sessionId)}/summary`, {
    headers: { Authorization: `Bearer ${token}`, Accept: "text/csv" },
  });
}
