import type { Caller } from "../../platform/auth/caller";

/** Who looks at a message: the message filters decide on this. */
export interface Viewer {
  userId: string | null;
  /** The member's roles; the admin token has the role `admin`. */
  roles: string[];
}

/** The fields of a message the filters may look at. */
export interface FilterableMessage {
  type: string;
  senderId: string | null;
  meta: Record<string, unknown> | null;
}

export const ADMIN_ROLE = "admin";

export function viewerOf(caller: Caller, memberRoles: string[] = []): Viewer {
  if (caller.kind === "admin") return { userId: null, roles: [ADMIN_ROLE] };
  return { userId: caller.kind === "user" ? caller.user.id : null, roles: memberRoles };
}
