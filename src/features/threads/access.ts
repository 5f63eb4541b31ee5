import type { Caller } from "../../platform/auth/caller";
import type { Db } from "../../platform/db";
import { notFound, unauthorized } from "../../platform/errors";
import { chatForbidden } from "./errors";
import { ALL_PERMISSIONS, hasBit, type MemberPermission } from "./permissions";
import { findMember, findThread, type MemberRow, type ThreadRow } from "./queries";
import type { ChatSettings, ThreadRoute } from "./settings";
import type { Viewer } from "./viewer";
import { viewerOf } from "./viewer";

export interface ThreadAccess {
  thread: ThreadRow;
  /** The caller's membership; null for the admin token (a superuser without one). */
  member: MemberRow | null;
  caller: Caller;
}

/**
 * Loads the thread and the caller's membership, then applies the route's guard from the
 * settings. The admin token passes every guard. A refused client gets 403 `NO_PERMISSIONS`.
 */
export async function authorize(
  db: Db,
  settings: ChatSettings,
  threadId: string,
  caller: Caller,
  route: ThreadRoute,
): Promise<ThreadAccess> {
  if (caller.kind === "anonymous") throw unauthorized();
  const thread = await findThread(db, threadId);
  if (!thread) throw notFound("Thread");
  const member = caller.kind === "user" ? await findMember(db, threadId, caller.user.id) : null;
  if (caller.kind !== "admin" && !settings.routePermissions[route]({ caller, member })) {
    throw forbidden(route);
  }
  return { thread, member, caller };
}

export function forbidden(what: string) {
  return chatForbidden("non_field_errors", "NO_PERMISSIONS", `Not allowed: ${what}`);
}

/** The permission bits the caller acts with: all for the admin token. */
export function bitsOf(access: Pick<ThreadAccess, "caller" | "member">): number {
  if (access.caller.kind === "admin") return ALL_PERMISSIONS;
  return access.member?.permissions ?? 0;
}

export function may(
  access: Pick<ThreadAccess, "caller" | "member">,
  permission: MemberPermission,
): boolean {
  return hasBit(bitsOf(access), permission);
}

/** The viewer the message filters see for this caller. */
export function accessViewer(access: Pick<ThreadAccess, "caller" | "member">): Viewer {
  return viewerOf(access.caller, access.member?.roles ?? []);
}

export function memberViewer(member: MemberRow): Viewer {
  return { userId: member.userId, roles: member.roles };
}
