import type { Db } from "../../platform/db";
import { accessViewer, bitsOf, type ThreadAccess } from "./access";
import { OBSERVER_PERMISSIONS } from "./permissions";
import { attachmentsOf, type MemberRow, messagesByIds, unreadCount, unreadKeys } from "./queries";
import type { ChatSettings } from "./settings";
import {
  byMessage,
  type MemberView,
  type MessageBase,
  memberView,
  messageBase,
  messageFor,
  outsiderView,
} from "./views";

/** Message bases by id, with their attachments (one query each). */
export async function loadBases(
  db: Db,
  settings: ChatSettings,
  ids: number[],
): Promise<Map<number, MessageBase>> {
  const unique = [...new Set(ids)];
  const [rows, attachments] = await Promise.all([
    messagesByIds(db, unique),
    attachmentsOf(db, unique),
  ]);
  const grouped = byMessage(attachments);
  return new Map(
    rows
      .filter((r) => !r.deleted)
      .map((r) => [r.id, messageBase(r, grouped.get(r.id) ?? [], settings.attachmentTypes)]),
  );
}

/**
 * The caller's view of one thread: its member view (own state, unread count, last visible
 * message), or for the admin token the closed view with every permission and the newest message.
 */
export async function callerThreadView(
  db: Db,
  settings: ChatSettings,
  access: ThreadAccess,
): Promise<MemberView> {
  const { thread, member, caller } = access;
  const userId = caller.kind === "user" ? caller.user.id : null;
  const lastId = member ? member.lastMessageId : thread.lastMessageId;
  const bases = lastId ? await loadBases(db, settings, [lastId]) : new Map();
  const base = lastId ? bases.get(lastId) : undefined;
  if (!member) {
    const last = base && settings.messageFilter(filterableOf(base), accessViewer(access));
    // The admin token holds every bit; anyone else here is an observer (read-only).
    const bits = bitsOf(access) || OBSERVER_PERMISSIONS;
    return outsiderView(thread, last ? messageFor(base, userId, true) : null, bits);
  }
  const [unread, unreadRows] = await Promise.all([
    unreadCount(db, thread.id, member.userId),
    base ? unreadKeys(db, thread.id, [base.id]) : Promise.resolve(new Set<string>()),
  ]);
  const last = base
    ? messageFor(base, member.userId, !unreadRows.has(`${member.userId}:${base.id}`))
    : null;
  return memberView(thread, member, unread, last);
}

export function filterableOf(base: MessageBase) {
  return { type: base.type, senderId: base.sender, meta: base.meta };
}

/** `GET /api/threads/:id`: the caller's view plus who is in the thread. */
export async function threadDetail(
  db: Db,
  settings: ChatSettings,
  access: ThreadAccess,
  members: MemberRow[],
) {
  return {
    ...(await callerThreadView(db, settings, access)),
    users: members.map((m) => ({ user_id: m.userId, name: m.name })),
  };
}
