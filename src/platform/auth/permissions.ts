import type { Caller } from "./caller";

/** Permission strings of contract §1. Admin holds every permission. */
export const PERMISSIONS = {
  pokerModerate: "planning_poker.moderate",
  pokerVote: "planning_poker.vote",
  busPublish: "bus.publish",
  threadsObserve: "threads.observe",
  stateObserve: "state.observe",
  /** Reading what the operators' console shows (stats, live rooms, every hook's log); no writes. */
  consoleRead: "console.read",
} as const;

/**
 * `permission` limited to one resource (a poker session): `planning_poker.vote:<session id>`.
 * Invite links mint these, so a guest's token is worth nothing in another session.
 */
export function scopedPermission(permission: string, resource: string): string {
  return `${permission}:${resource}`;
}

/** Whether `permissions` grant `permission`, everywhere or (given `resource`) for it alone. */
export function grants(permissions: string[], permission: string, resource?: string): boolean {
  return (
    permissions.includes(permission) ||
    (resource !== undefined && permissions.includes(scopedPermission(permission, resource)))
  );
}

export function hasPermission(caller: Caller, permission: string, resource?: string): boolean {
  if (caller.kind === "admin") return true;
  return caller.kind === "user" && grants(caller.permissions, permission, resource);
}

/** The user id of a caller, or null for admin and anonymous callers. */
export function userIdOf(caller: Caller): string | null {
  return caller.kind === "user" ? caller.user.id : null;
}
