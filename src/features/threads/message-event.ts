import { ALL_PERMISSIONS } from "./permissions";
import type { MessageFilter } from "./settings";
import { ADMIN_ROLE, type FilterableMessage } from "./viewer";
import {
  type DeletedMessage,
  type MemberView,
  type MessageBase,
  messageFor,
  outsiderView,
  type ThreadHead,
} from "./views";

export const MESSAGE_EVENT = "message_created_or_updated";

/** One member's part of a message event, computed when the message was stored. */
export interface RecipientView {
  view: Omit<MemberView, "last_message_data">;
  is_read: boolean;
  last_message_id: number | null;
  last_is_read: boolean;
}

/**
 * What the thread room stores in its ordered stream for `message_created_or_updated`: the
 * message once, plus each receiving member's own part. Sockets get their own rendering of it
 * (live and on `?since=` replay); nobody ever receives another member's part.
 */
export interface MessageEventData {
  thread: ThreadHead;
  message: MessageBase | DeletedMessage;
  /** What the per-message filter looks at, for observers and admin sockets. */
  filterable: FilterableMessage;
  /** user id → that member's part; members without `ws`, or who may not see it, are absent. */
  recipients: Record<string, RecipientView>;
  /** The members' last messages by id (usually just this message). */
  last_messages: Record<string, MessageBase>;
}

/** How a thread socket takes part; kept in the socket attachment. */
export interface ThreadSocketState {
  /** `none`: admitted but no longer a member or observer; receives nothing. */
  role: "member" | "observer" | "admin" | "none";
  notifications: number;
  roles: string[];
}

function isDeleted(m: MessageBase | DeletedMessage): m is DeletedMessage {
  return "deleted" in m;
}

/** One socket's frame data, or null when it must not receive this message. */
export function renderMessageEvent(
  data: MessageEventData,
  socket: { userId: string | null; state: ThreadSocketState },
  filter: MessageFilter,
): { message: unknown; user_thread: MemberView } | null {
  const { userId, state } = socket;
  if (state.role === "member") {
    // Own keys only: a user id such as `constructor` must not find Object.prototype's.
    const part = userId && Object.hasOwn(data.recipients, userId) ? data.recipients[userId] : null;
    if (!part) return null;
    const lastKey = String(part.last_message_id);
    const last =
      part.last_message_id && Object.hasOwn(data.last_messages, lastKey)
        ? data.last_messages[lastKey]
        : undefined;
    return {
      message: isDeleted(data.message)
        ? data.message
        : messageFor(data.message, userId, part.is_read),
      user_thread: {
        ...part.view,
        last_message_data: last ? messageFor(last, userId, part.last_is_read) : null,
      },
    };
  }
  if (state.role === "none") return null;
  const roles = state.role === "admin" ? [ADMIN_ROLE] : state.roles;
  if (!filter(data.filterable, { userId, roles })) return null;
  const message = isDeleted(data.message) ? data.message : messageFor(data.message, userId, true);
  const last = isDeleted(data.message) ? null : messageFor(data.message, userId, true);
  const permissions = state.role === "admin" ? ALL_PERMISSIONS : undefined;
  return { message, user_thread: outsiderView(data.thread, last, permissions, userId) };
}
