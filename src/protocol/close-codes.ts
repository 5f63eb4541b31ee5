/**
 * The one table of application close codes (4000–4999 are left to applications by RFC 6455),
 * with what each means and what a client does after it. The rooms close with these, the SDK's
 * reconnect rule reads `reconnect` from here and the AsyncAPI document lists them, so there is
 * no second list.
 *
 * It imports nothing: the SDK and the poker page bundle it without zod or Workers types.
 */
export const CLOSE_CODES = {
  idle: {
    code: 4000,
    reconnect: true,
    meaning:
      "Silent too long (no frame, no ping for 60 s) in a room that shows who is present (poker)",
  },
  credentialExpired: {
    code: 4401,
    reconnect: true,
    meaning:
      "The credential expired, or its API key was revoked or expired: reconnect with a fresh token",
  },
  accessRemoved: {
    code: 4403,
    reconnect: false,
    meaning:
      "Access removed (removed from a thread, observing another one, a refresh without the needed permission)",
  },
  roomDeleted: { code: 4404, reconnect: false, meaning: "The room was deleted (a thread)" },
  roomEnded: {
    code: 4410,
    reconnect: false,
    meaning: "The room ended (a poker session); new connections get 410",
  },
  /**
   * Reconnecting at once would only be refused again (the cap is checked before the upgrade),
   * so clients stop.
   */
  tooManySockets: {
    code: 4429,
    reconnect: false,
    meaning: "The user holds too many sockets in this room",
  },
} as const satisfies Record<string, { code: number; reconnect: boolean; meaning: string }>;

export type CloseReason = keyof typeof CLOSE_CODES;

/** The application close codes after which a client must not reconnect. */
export const FINAL_CLOSE_CODES: readonly number[] = Object.values(CLOSE_CODES)
  .filter((c) => !c.reconnect)
  .map((c) => c.code);
