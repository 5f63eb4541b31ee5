/**
 * The events every room kind shares (the base room sends and answers them), with their data.
 * It imports nothing, so the SDK and the poker page use the names at runtime without zod.
 */

/** Server event: the first frame of a resume older than the room keeps (its full state). */
export const RESYNC_EVENT = "resync";
/** Server event: a refused frame that carried no `request_id`. */
export const ERROR_EVENT = "error";
/** Server event: the socket's credential ends at `data.expires_at` (ISO 8601) unless refreshed. */
export const TOKEN_EXPIRING_EVENT = "token_expiring";
/** Client event `{"token": "<fresh token of the same user>"}`: replaces the socket's credential. */
export const AUTH_EVENT = "auth";

export interface ErrorData {
  status: number;
  errors: string[];
}

export interface TokenExpiringData {
  expires_at: string;
}

/** The reply to `auth`: when the new credential ends (null for an API key without expiry). */
export interface AuthReply {
  expires_at: string | null;
}

/** Server events of every room kind; `Snapshot` is the kind's `resync` data. */
export interface BaseServerEvents<Snapshot> {
  [RESYNC_EVENT]: Snapshot;
  [ERROR_EVENT]: ErrorData;
  [TOKEN_EXPIRING_EVENT]: TokenExpiringData;
}
