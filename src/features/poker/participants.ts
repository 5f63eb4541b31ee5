import { grants, PERMISSIONS } from "../../platform/auth/permissions";
import type { Participant } from "../../protocol/poker-events";

export type { Participant } from "../../protocol/poker-events";

/** What the poker room knows of a connected socket's user. */
export interface Attendee {
  id: string;
  name: string;
  admin: boolean;
  permissions: string[];
}

/** An attendee as presence keeps it; `connectedAt` dates its participant row. */
export type GraceAttendee = Attendee & { connectedAt: number };

const POKER_PERMISSIONS: string[] = [PERMISSIONS.pokerModerate, PERMISSIONS.pokerVote];

/** The user id a socket acts as; the admin token has no user, so it is listed as `admin`. */
export function attendeeId(userId: string | null): string {
  return userId ?? "admin";
}

/**
 * `participants_changed` list: one entry per user however many sockets it has, sorted by name.
 * Only poker permissions are listed: a token's other permissions are nobody else's business.
 */
export function participantsOf(attendees: Attendee[]): Participant[] {
  const byId = new Map<string, Participant>();
  for (const a of attendees) {
    if (byId.has(a.id)) continue;
    const permissions = a.admin
      ? POKER_PERMISSIONS
      : POKER_PERMISSIONS.filter((p) => a.permissions.includes(p));
    byId.set(a.id, { id: a.id, name: a.name, username: a.name, permissions });
  }
  return [...byId.values()].sort(
    (x, y) => x.name.localeCompare(y.name) || x.id.localeCompare(y.id),
  );
}

/**
 * The poker permissions `permissions` hold in session `sessionId`: granted everywhere, or for
 * this session alone (an invite's token).
 */
export function sessionPermissions(permissions: string[], sessionId: string): string[] {
  return POKER_PERMISSIONS.filter((p) => grants(permissions, p, sessionId));
}

/** Users whose votes are hidden from them until revealed: they may vote but not moderate. */
export function isHiddenVoter(permissions: string[]): boolean {
  return (
    permissions.includes(PERMISSIONS.pokerVote) && !permissions.includes(PERMISSIONS.pokerModerate)
  );
}
