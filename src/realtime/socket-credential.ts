import type { Caller } from "../platform/auth/caller";
import * as time from "../platform/time";
import type { Member } from "./member";

/**
 * The rules of a socket's credential, apart from the room that applies them (base-room.ts):
 * when it is warned and closed, who may refresh it, how many sockets one user may hold.
 */

/** A credential that lives longer than twice this is warned this long before it ends. */
export const EXPIRY_WARNING_MS = 60_000;
/**
 * While sockets hold API-key credentials, the room asks D1 this often whether their keys still
 * live: a revoked key's sockets close within this (well inside the contract's 60 s).
 */
export const KEY_CHECK_INTERVAL_MS = 30_000;
/** Sockets one user may hold in one room unless `MAX_SOCKETS_PER_USER` says otherwise. */
export const DEFAULT_MAX_SOCKETS_PER_USER = 100;

/**
 * When to send `token_expiring` for a credential ending at `expiresAt`, received at `now`:
 * a minute ahead, or halfway through what is left when that is shorter. A token that lived
 * longer than a minute is thus warned at least 30 s ahead, and a short one still has time.
 */
export function warningAt(expiresAt: number, now: number): number {
  return Math.max(expiresAt - EXPIRY_WARNING_MS, now + Math.floor((expiresAt - now) / 2));
}

type CredentialFacts = Pick<Member, "permissions" | "lang" | "expiresAt" | "keyId" | "warnAt">;

/** The member facts a user credential sets; a refresh replaces exactly these. */
export function credentialFacts(
  caller: Extract<Caller, { kind: "user" }>,
  now = time.now(),
): CredentialFacts {
  const { expiresAt } = caller;
  return {
    permissions: caller.permissions,
    lang: caller.lang,
    expiresAt,
    keyId: caller.keyId,
    warnAt: expiresAt === undefined ? undefined : warningAt(expiresAt, now),
  };
}

/** When the socket's credential next needs the alarm (warning, then expiry); null: never. */
export function credentialDueAt(member: Member<unknown>): number | null {
  return member.warnAt ?? member.expiresAt ?? null;
}

/** A refresh keeps the socket's holder: the same user, or the admin for an admin socket. */
export function sameHolder(member: Member<unknown>, caller: Caller): boolean {
  if (member.admin) return caller.kind === "admin";
  return caller.kind === "user" && caller.user.id === member.userId;
}

/** The hibernation tag of a user's sockets (user ids are of a tag-safe charset, ≤ 128 chars). */
export function userTag(userId: string): string {
  return `u:${userId}`;
}

/** The configured cap, or the default when `MAX_SOCKETS_PER_USER` is unset or not positive. */
export function maxSocketsPerUser(env: Pick<Env, "MAX_SOCKETS_PER_USER">): number {
  const configured = Number.parseInt(env.MAX_SOCKETS_PER_USER ?? "", 10);
  return configured > 0 ? configured : DEFAULT_MAX_SOCKETS_PER_USER;
}
