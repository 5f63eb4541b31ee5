/**
 * The one table of application close codes (4000–4999 are left to applications by RFC 6455),
 * with what a client does after each. The rooms close with these and the SDK's reconnect rule
 * reads `reconnect` from here, so there is no second list.
 *
 * It imports nothing: the SDK and the poker page bundle it without zod or Workers types.
 */
export const CLOSE_CODES = {
  /** Silent too long in a room that shows who is present (poker): a reconnect is welcome. */
  idle: { code: 4000, reconnect: true },
  /** The credential expired or its API key was revoked: reconnect with a fresh token. */
  credentialExpired: { code: 4401, reconnect: true },
  /** Access removed (e.g. removed from a thread, or observing another one). */
  accessRemoved: { code: 4403, reconnect: false },
  /** The room was deleted (e.g. the thread). */
  roomDeleted: { code: 4404, reconnect: false },
  /** The room ended (poker session ended): new connections get 410. */
  roomEnded: { code: 4410, reconnect: false },
  /**
   * The user holds too many sockets in this room. Reconnecting at once would only be refused
   * again (the cap is checked before the upgrade), so clients stop.
   */
  tooManySockets: { code: 4429, reconnect: false },
} as const satisfies Record<string, { code: number; reconnect: boolean }>;

export type CloseReason = keyof typeof CLOSE_CODES;

/** The application close codes after which a client must not reconnect. */
export const FINAL_CLOSE_CODES: readonly number[] = Object.values(CLOSE_CODES)
  .filter((c) => !c.reconnect)
  .map((c) => c.code);
