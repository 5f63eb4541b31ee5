import type {
  AttachmentView,
  DeletedMessage,
  MemberView,
  MessageBase,
  MessageView,
} from "../../protocol/threads";
import { type AttachmentType, attachmentSrc } from "./attachments";
import { notificationNames } from "./notifications";
import { OBSERVER_PERMISSIONS, permissionNames } from "./permissions";
import type { AttachmentRow, MemberRow, MessageRow, ThreadRow } from "./queries";

/** The views are wire shapes: they live in the protocol module, the SDK reads them too. */
export type {
  AttachmentView,
  DeletedMessage,
  MemberView,
  MessageBase,
  MessageView,
} from "../../protocol/threads";

export function attachmentView(
  types: Record<string, AttachmentType>,
  row: AttachmentRow,
): AttachmentView {
  return {
    id: row.id,
    type: row.type,
    title: row.title,
    description: row.description,
    src: attachmentSrc(types, row),
    thumbnail: row.thumbnail ?? null,
    options: row.options ?? null,
    object_type: row.objectType,
    object_id: row.objectId,
  };
}

export function messageBase(
  row: MessageRow,
  attachments: AttachmentRow[],
  types: Record<string, AttachmentType>,
): MessageBase {
  return {
    id: row.id,
    thread: row.threadId,
    sender: row.senderId,
    sender_data: row.senderId ? { id: row.senderId, name: row.senderName ?? "" } : null,
    type: row.type,
    text: row.text,
    meta: row.meta ?? null,
    related_question: row.relatedQuestionId,
    answers: row.answers ?? null,
    created: row.createdAt,
    updated: row.updatedAt,
    has_attachments: attachments.length > 0,
    attachments_data: attachments.map((a) => attachmentView(types, a)),
  };
}

export function deletedMessage(row: MessageRow): DeletedMessage {
  return { id: row.id, thread: row.threadId, deleted: true };
}

export function messageFor(
  base: MessageBase,
  viewerId: string | null,
  isRead: boolean,
): MessageView {
  return { ...base, is_own: viewerId !== null && base.sender === viewerId, is_read: isRead };
}

/** Group attachments by message id. */
export function byMessage(attachments: AttachmentRow[]): Map<number, AttachmentRow[]> {
  const map = new Map<number, AttachmentRow[]>();
  for (const a of attachments) {
    const list = map.get(a.messageId) ?? [];
    list.push(a);
    map.set(a.messageId, list);
  }
  return map;
}

/** The thread fields a view needs (also kept in stored stream events). */
export type ThreadHead = Pick<ThreadRow, "id" | "title" | "type" | "createdAt" | "updatedAt">;

export function threadHead(thread: ThreadRow): ThreadHead {
  const { id, title, type, createdAt, updatedAt } = thread;
  return { id, title, type, createdAt, updatedAt };
}

export function memberView(
  thread: ThreadHead,
  member: MemberRow,
  unreadCount: number,
  lastMessage: MessageView | null,
): MemberView {
  return {
    id: thread.id,
    title: thread.title,
    type: thread.type,
    created: thread.createdAt,
    updated: member.updatedAt,
    user_id: member.userId,
    state: member.state,
    permissions: permissionNames(member.permissions),
    notifications: notificationNames(member.notifications),
    unread_count: unreadCount,
    last_message_data: lastMessage,
    schema_id: member.schemaId,
    question_id: member.questionId,
    initial_question_id: member.initialQuestionId,
    related_message_id: member.relatedMessageId,
    on_finish: member.onFinish,
  };
}

/**
 * The closed, read-only view of observers (and of the admin token, with every permission):
 * no unread rows, no notifications, nothing they could change.
 */
export function outsiderView(
  thread: ThreadHead,
  lastMessage: MessageView | null,
  permissions: number = OBSERVER_PERMISSIONS,
  userId: string | null = null,
): MemberView {
  return {
    id: thread.id,
    title: thread.title,
    type: thread.type,
    created: thread.createdAt,
    updated: thread.updatedAt,
    user_id: userId,
    state: "closed",
    permissions: permissionNames(permissions),
    notifications: [],
    unread_count: 0,
    last_message_data: lastMessage,
    schema_id: null,
    question_id: null,
    initial_question_id: null,
    related_message_id: null,
    on_finish: null,
  };
}

/** A member in `GET /api/threads/:id/users`; the scripted fields only for `control_others`. */
export function userView(member: MemberRow, withControlFields: boolean) {
  const base = {
    user_id: member.userId,
    name: member.name,
    roles: member.roles,
    permissions: permissionNames(member.permissions),
    notifications: notificationNames(member.notifications),
    state: member.state,
    created: member.createdAt,
    updated: member.updatedAt,
  };
  if (!withControlFields) return base;
  return {
    ...base,
    schema_id: member.schemaId,
    question_id: member.questionId,
    initial_question_id: member.initialQuestionId,
    related_message_id: member.relatedMessageId,
    on_finish: member.onFinish,
    lang: member.lang,
    frequency_unit: member.frequencyUnit,
    frequency_value: member.frequencyValue,
    repeat_until: member.repeatUntil,
    next_restart: member.nextRestart,
    variables: member.variables,
  };
}
