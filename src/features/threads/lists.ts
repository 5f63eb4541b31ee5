import type { Caller } from "../../platform/auth/caller";
import type { Db } from "../../platform/db";
import { badRequest } from "../../platform/errors";
import { escapeHtml } from "../../platform/html";
import { accessViewer, may, type ThreadAccess } from "./access";
import { chatInvalid } from "./errors";
import { nudgeUnread } from "./nudge";
import { ALL_PERMISSIONS } from "./permissions";
import {
  attachmentsOf,
  listAllThreads,
  listMembersPage,
  listMemberThreads,
  listMessages,
  markRead,
  unreadCount,
  unreadCountsForUser,
  unreadMessageIds,
} from "./queries";
import { loadBases } from "./read";
import type { ChatSettings, PageSettings } from "./settings";
import { viewerOf } from "./viewer";
import { byMessage, memberView, messageBase, messageFor, outsiderView, userView } from "./views";

export interface PageQuery {
  limit?: number;
  offset: number;
}

/** The settings' default limit, and a 400 above its maximum. */
export function pageLimit(query: PageQuery, settings: PageSettings): number {
  const limit = query.limit ?? settings.defaultLimit;
  if (limit > settings.maxLimit) {
    throw badRequest("limit is too large", { limit: [`at most ${settings.maxLimit}`] });
  }
  return limit;
}

function page<T>(rows: T[], limit: number, offset: number) {
  return { results: rows.slice(0, limit), next: rows.length > limit ? offset + limit : null };
}

/**
 * `GET /api/threads`: the caller's member views of listable threads, newest activity first;
 * the admin token sees every thread (closed view, every permission).
 */
export async function listThreadsFor(
  db: Db,
  settings: ChatSettings,
  caller: Caller,
  query: PageQuery & { type?: string },
) {
  const limit = pageLimit(query, settings.pagination.threads);
  if (query.type !== undefined && !settings.listableThreadTypes.includes(query.type)) {
    throw chatInvalid({ type: ["WRONG_VALUE"] });
  }
  const types = query.type ? [query.type] : settings.listableThreadTypes;
  if (caller.kind === "admin") {
    const rows = await listAllThreads(db, types, limit + 1, query.offset);
    const bases = await loadBases(
      db,
      settings,
      rows.flatMap((t) => (t.lastMessageId ? [t.lastMessageId] : [])),
    );
    const views = rows.map((t) => {
      const base = t.lastMessageId ? bases.get(t.lastMessageId) : undefined;
      return outsiderView(t, base ? messageFor(base, null, true) : null, ALL_PERMISSIONS);
    });
    return page(views, limit, query.offset);
  }
  if (caller.kind !== "user") return page([], limit, query.offset);
  const userId = caller.user.id;
  const rows = await listMemberThreads(db, userId, types, limit + 1, query.offset);
  const lastIds = rows.flatMap((r) => (r.member.lastMessageId ? [r.member.lastMessageId] : []));
  const [counts, bases, unread] = await Promise.all([
    unreadCountsForUser(
      db,
      userId,
      rows.map((r) => r.thread.id),
    ),
    loadBases(db, settings, lastIds),
    unreadMessageIds(db, userId, lastIds),
  ]);
  const views = rows.map(({ thread, member }) => {
    const base = member.lastMessageId ? bases.get(member.lastMessageId) : undefined;
    const last = base ? messageFor(base, userId, !unread.has(base.id)) : null;
    return memberView(thread, member, counts.get(thread.id) ?? 0, last);
  });
  return page(views, limit, query.offset);
}

/**
 * `GET /api/threads/:id/messages`: newest first, no count (one extra row says whether there is
 * a next page). Both filters apply. Returned messages become read for the caller (`is_read`
 * false on the ones that were unread until now), and the bus hears the new unread count.
 */
export async function listMessagesFor(
  env: Env,
  db: Db,
  settings: ChatSettings,
  access: ThreadAccess,
  query: PageQuery & { q?: string },
) {
  const limit = pageLimit(query, settings.pagination.messages);
  const viewer = accessViewer(access);
  const words = (query.q ?? "").split(/\s+/).filter(Boolean).map(escapeHtml);
  const rows = await listMessages(db, access.thread.id, {
    hiddenTypes: settings.listFilter(viewer),
    words,
    limit,
    offset: query.offset,
  });
  const shown = rows
    .slice(0, limit)
    .filter((r) =>
      settings.messageFilter({ type: r.type, senderId: r.senderId, meta: r.meta ?? null }, viewer),
    );
  const ids = shown.map((r) => r.id);
  const attachments = byMessage(await attachmentsOf(db, ids));
  const userId = access.member?.userId ?? null;
  const wasUnread = userId ? await markRead(db, access.thread.id, userId, ids) : new Set<number>();
  if (userId && wasUnread.size) {
    const count = await unreadCount(db, access.thread.id, userId);
    await nudgeUnread(env, settings.busDb, access.thread.id, [[userId, count]]);
  }
  const results = shown.map((r) =>
    messageFor(
      messageBase(r, attachments.get(r.id) ?? [], settings.attachmentTypes),
      viewerOf(access.caller).userId,
      !wasUnread.has(r.id),
    ),
  );
  return { results, next: rows.length > limit ? query.offset + limit : null };
}

/** `GET /api/threads/:id/users`: members in the order they joined. */
export async function listUsersFor(
  db: Db,
  settings: ChatSettings,
  access: ThreadAccess,
  query: PageQuery,
) {
  const limit = pageLimit(query, settings.pagination.users);
  const rows = await listMembersPage(db, access.thread.id, limit + 1, query.offset);
  const control = may(access, "control_others");
  return page(
    rows.map((m) => userView(m, control)),
    limit,
    query.offset,
  );
}
