import { z } from "zod";

/**
 * The chat thread room's events (`/ws/threads/:id`) and the message and thread views they
 * carry (the same views the REST routes answer with).
 */

export const threadClientEvents = {
  /** Marks a message read for the member; the reply carries the new unread count. */
  mark_message_as_read: z.object({ message: z.coerce.number().int().positive() }).loose(),
  /** Tells the other members this one is writing (`length`: ms). */
  thread_someone_is_writing: z
    .object({ length: z.number().int().min(0).max(1_000_000_000) })
    .loose(),
};

export interface AttachmentView {
  id: number;
  type: string;
  title: string;
  description: string;
  src: string | null;
  thumbnail: unknown;
  options: Record<string, unknown> | null;
  object_type: string | null;
  object_id: string | null;
}

/** A message as every recipient sees it, before the per-recipient `is_own` / `is_read`. */
export interface MessageBase {
  id: number;
  thread: string;
  sender: string | null;
  sender_data: { id: string; name: string } | null;
  type: string;
  text: string;
  meta: Record<string, unknown> | null;
  related_question: string | null;
  answers: string[] | null;
  created: string;
  updated: string;
  has_attachments: boolean;
  attachments_data: AttachmentView[];
}

export interface DeletedMessage {
  id: number;
  thread: string;
  deleted: true;
}

export interface MessageView extends MessageBase {
  is_own: boolean;
  is_read: boolean;
}

/** The receiving member's own view of a thread (the chat API's `thread_data`). */
export interface MemberView {
  id: string;
  title: string;
  type: string;
  created: string;
  updated: string;
  user_id: string | null;
  state: string;
  permissions: string[];
  notifications: string[];
  unread_count: number;
  last_message_data: MessageView | null;
  schema_id: string | null;
  question_id: string | null;
  initial_question_id: string | null;
  related_message_id: number | null;
  on_finish: string | null;
}

export interface ThreadServerEvents {
  message_created_or_updated: { message: MessageView | DeletedMessage; user_thread: MemberView };
  thread_someone_is_writing: { thread: string; user: { id: string; name: string }; length: number };
}

/** `resync`: the socket's current view of the thread (messages are listed over REST). */
export interface ThreadSnapshot {
  user_thread: MemberView | null;
}

export interface ThreadReplies {
  mark_message_as_read: { message: number; unread_count: number };
}
