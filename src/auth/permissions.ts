import type { Caller } from "./caller";

/** Permission strings of CONTRACT.md §1. Admin holds every permission. */
export const PERMISSIONS = {
  pokerModerate: "planning_poker.moderate",
  pokerVote: "planning_poker.vote",
  busPublish: "bus.publish",
  threadsObserve: "threads.observe",
  stateObserve: "state.observe",
} as const;

export function isAdmin(caller: Caller): boolean {
  return caller.kind === "admin";
}

export function hasPermission(caller: Caller, permission: string): boolean {
  if (caller.kind === "admin") return true;
  return caller.kind === "user" && caller.permissions.includes(permission);
}

/** The user id of a caller, or null for admin and anonymous callers. */
export function userIdOf(caller: Caller): string | null {
  return caller.kind === "user" ? caller.user.id : null;
}
