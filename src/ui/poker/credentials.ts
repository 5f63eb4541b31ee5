/**
 * Who this browser is, kept in localStorage, and the short tokens the page works with.
 *
 * An organiser opens the page once with `#key=sbk_…` (or types an admin token under
 * "Advanced"): the page keeps that credential and mints its own one-hour client tokens with it,
 * minting again a few minutes before one expires. A guest (someone who opened an invite link)
 * keeps the token the join answered, with the invite and the name, so an expired token is
 * replaced by joining again instead of failing on every reconnect. No token is ever shown.
 */
import { type PokerApi, PokerApiError, type PokerJoined } from "../../client/poker";
import { type MintedToken, mintToken } from "./api";

const ORGANISER = "switchboard.poker.organiser";
const ORGANISER_TOKEN = "switchboard.poker.organiserToken";
const sessionKey = (id: string) => `switchboard.poker.session.${id}`;

/** Minted tokens live an hour; the page mints again when less than five minutes are left. */
const TOKEN_TTL_SECONDS = 3600;
const REFRESH_MARGIN_MS = 5 * 60_000;
/** The admin path mints for a person the admin names, who moderates and may also estimate. */
const ORGANISER_PERMISSIONS = ["planning_poker.moderate", "planning_poker.vote"];

export type OrganiserCredential =
  | { kind: "key"; secret: string }
  | { kind: "admin"; secret: string; user: { id: string; name: string } };

/** A credential the server refused (401/403): who held it decides what the page says. */
export class CredentialError extends Error {
  constructor(
    readonly holder: "organiser" | "admin" | "invite",
    readonly status: number,
  ) {
    super(`${holder} credential refused (${status})`);
    this.name = "CredentialError";
  }
}

export interface Person {
  id: string;
  name: string;
}

export interface InviteLinks {
  voter: string;
  moderator: string;
}

/** What the page knows about a token it holds: read from the token itself, not verified. */
export function readClaims(token: string): { user: Person; permissions: string[] } {
  const part = token.split(".")[1] ?? "";
  const json = JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/"))) as {
    sub: string;
    name: string;
    perms?: string[];
  };
  return { user: { id: json.sub, name: json.name }, permissions: json.perms ?? [] };
}

function readJson<T>(key: string): T | null {
  try {
    const raw = localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    return null;
  }
}

/** The organiser's stored credential and the tokens minted with it. */
export class Organiser {
  private minting: Promise<MintedToken> | null = null;

  private constructor(readonly credential: OrganiserCredential) {}

  static load(): Organiser | null {
    const credential = readJson<OrganiserCredential>(ORGANISER);
    return credential ? new Organiser(credential) : null;
  }

  static save(credential: OrganiserCredential): Organiser {
    localStorage.setItem(ORGANISER, JSON.stringify(credential));
    localStorage.removeItem(ORGANISER_TOKEN);
    return new Organiser(credential);
  }

  static forget(): void {
    localStorage.removeItem(ORGANISER);
    localStorage.removeItem(ORGANISER_TOKEN);
  }

  /**
   * A client token with at least five minutes left, minted when needed (once at a time);
   * `fresh` mints anyway, to learn whether the stored credential still works.
   */
  async token(fresh = false): Promise<string> {
    const cached = readJson<MintedToken>(ORGANISER_TOKEN);
    if (!fresh && cached && Date.parse(cached.expires_at) - Date.now() > REFRESH_MARGIN_MS) {
      return cached.token;
    }
    this.minting ??= this.mint().finally(() => {
      this.minting = null;
    });
    return (await this.minting).token;
  }

  private async mint(): Promise<MintedToken> {
    const { credential } = this;
    const body =
      credential.kind === "key"
        ? { ttl_seconds: TOKEN_TTL_SECONDS }
        : {
            user: credential.user,
            permissions: ORGANISER_PERMISSIONS,
            ttl_seconds: TOKEN_TTL_SECONDS,
          };
    try {
      const minted = await mintToken(credential.secret, body);
      localStorage.setItem(ORGANISER_TOKEN, JSON.stringify(minted));
      return minted;
    } catch (err) {
      if (err instanceof PokerApiError && (err.status === 401 || err.status === 403)) {
        // A revoked or expired credential stays dead: the create form should not offer it.
        if (err.status === 401) Organiser.forget();
        throw new CredentialError(credential.kind === "key" ? "organiser" : "admin", err.status);
      }
      throw err;
    }
  }
}

/** A session as this browser takes part in it. */
export type SessionCredentials =
  | { mode: "organiser"; links?: InviteLinks }
  | (PokerJoined & { mode: "guest"; invite: string; name: string; links?: InviteLinks });

export type GuestCredentials = Extract<SessionCredentials, { mode: "guest" }>;

export function loadSession(sessionId: string): SessionCredentials | null {
  return readJson<SessionCredentials>(sessionKey(sessionId));
}

export function saveSession(sessionId: string, creds: SessionCredentials): void {
  localStorage.setItem(sessionKey(sessionId), JSON.stringify(creds));
}

/** Joins with an invite and a name; a refused invite becomes a `CredentialError`. */
export async function joinSession(
  api: PokerApi,
  sessionId: string,
  invite: string,
  name: string,
): Promise<GuestCredentials> {
  try {
    const joined = await api.join(sessionId, { invite, name });
    const creds: GuestCredentials = { ...joined, mode: "guest", invite, name };
    saveSession(sessionId, creds);
    return creds;
  } catch (err) {
    if (err instanceof PokerApiError && (err.status === 401 || err.status === 403)) {
      throw new CredentialError("invite", err.status);
    }
    throw err;
  }
}

/**
 * The identity a session page runs with: the token for REST and the socket, and who that is.
 * A guest whose token is about to expire joins again with the stored invite and name (a new
 * guest id: the server never lets a client pick one).
 */
export interface Seat {
  /** `fresh` after the server refused the last token (a revoked key kills its tokens too). */
  token(fresh?: boolean): Promise<string>;
  me(): Person;
  permissions(): string[];
  links(): InviteLinks | undefined;
  saveLinks(links: InviteLinks): void;
}

export function organiserSeat(organiser: Organiser, sessionId: string, first: string): Seat {
  const claims = readClaims(first);
  const creds = (): SessionCredentials => loadSession(sessionId) ?? { mode: "organiser" };
  return {
    token: (fresh) => organiser.token(fresh),
    me: () => claims.user,
    permissions: () => claims.permissions,
    links: () => creds().links,
    saveLinks: (links) => saveSession(sessionId, { ...creds(), links }),
  };
}

export function guestSeat(api: PokerApi, sessionId: string, initial: GuestCredentials): Seat {
  let creds = initial;
  let rejoining: Promise<GuestCredentials> | null = null;
  return {
    async token() {
      if (Date.parse(creds.expires_at) - Date.now() > 60_000) return creds.token;
      rejoining ??= joinSession(api, sessionId, creds.invite, creds.name).finally(() => {
        rejoining = null;
      });
      creds = { ...(await rejoining), links: creds.links };
      saveSession(sessionId, creds);
      return creds.token;
    },
    me: () => creds.user,
    permissions: () => creds.permissions,
    links: () => creds.links,
    saveLinks(links) {
      creds = { ...creds, links };
      saveSession(sessionId, creds);
    },
  };
}

/** A guest's stored credentials whose token still has a minute left. */
export function isFresh(creds: GuestCredentials): boolean {
  return Date.parse(creds.expires_at) - Date.now() > 60_000;
}
