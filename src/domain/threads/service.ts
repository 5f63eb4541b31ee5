import type { Caller } from "../../auth/caller";
import { type Db, getDb } from "../../db/client";
import {
  attachmentsOf,
  findThread,
  insertMessage,
  listMembers,
  type MemberRow,
  type MessageRow,
  type ThreadRow,
  unreadCounts,
  unreadKeys,
  updateMember,
} from "../../db/queries/threads";
import type { PostKey } from "../../db/queries/threads-keys";
import { type MessageChange, unpublishedAfter } from "../../db/queries/threads-publish";
import { notFound } from "../../errors";
import { authorize, memberViewer, type ThreadAccess } from "./access";
import type { StoredAttachment } from "./attachments";
import {
  checkTransition,
  type MemberChange,
  runMemberStateHook,
  type SystemMessageInput,
  type ThreadOps,
} from "./member-state";
import { emitMessageCreated } from "./message-created";
import type { MessageEventData, RecipientView } from "./message-event";
import { hasFlag } from "./notifications";
import { nudgeUnread } from "./nudge";
import { loadBases } from "./read";
import { type ChatSettings, chatSettings, type ThreadRoute } from "./settings";
import type { FilterableMessage } from "./viewer";
import { deletedMessage, memberView, messageBase, threadHead } from "./views";

/**
 * What a message event announces, by its place in D1's commit order: a new message (its id) or
 * an edit or delete (its `thread_message_changes` id).
 */
export type Announced = { message: number } | { change: number };

/** What the thread room does with the results of an operation. */
export interface ThreadFanOut {
  /**
   * Stores the event in the room's ordered stream and sends each socket its own rendering. The
   * room records what it announces as published with the event, and ignores a new message or a
   * change it has already published.
   */
  publishMessageEvent(data: MessageEventData, announced: Announced): void;
  /** The last new message the room has published (messages are published in stored order). */
  publishedMessageId(): number;
  /** The last edit or delete the room has published (changes are published in stored order). */
  publishedChangeId(): number;
  /** A member changed: refresh what its sockets know (notification flags, roles). */
  memberChanged(member: MemberRow): void;
  /** A member left: close its sockets. */
  memberRemoved(userId: string): void;
}

export interface MessageDraft {
  sender: { id: string; name: string } | null;
  type: string;
  text: string;
  meta: Record<string, unknown> | null;
  relatedQuestionId: string | null;
  answers: string[] | null;
  attachments: StoredAttachment[];
}

/**
 * One operation on one thread, run inside its room (one at a time). Implements `ThreadOps`, the
 * surface the member-state hooks use, and the steps every write shares: store, then fan out,
 * then the domain event and the unread nudges.
 */
export class ThreadService implements ThreadOps {
  readonly db: Db;
  readonly settings: ChatSettings;

  constructor(
    readonly env: Env,
    readonly threadId: string,
    readonly caller: Caller,
    private readonly fanout: ThreadFanOut,
  ) {
    this.db = getDb(env.DB);
    this.settings = chatSettings(env);
  }

  async thread(): Promise<ThreadRow> {
    const thread = await findThread(this.db, this.threadId);
    if (!thread) throw notFound("Thread");
    return thread;
  }

  members(): Promise<MemberRow[]> {
    return listMembers(this.db, this.threadId);
  }

  authorize(route: ThreadRoute): Promise<ThreadAccess> {
    return authorize(this.db, this.settings, this.threadId, this.caller, route);
  }

  postSystemMessage(input: SystemMessageInput): Promise<MessageRow> {
    return this.storeMessage({
      sender: null,
      type: input.type,
      text: input.text,
      meta: input.meta ?? null,
      relatedQuestionId: input.relatedQuestionId ?? null,
      answers: null,
      attachments: [],
    });
  }

  async changeMember(userId: string, change: MemberChange): Promise<MemberRow> {
    const members = await this.members();
    const before = members.find((m) => m.userId === userId);
    if (!before) throw notFound("Member");
    return this.applyMemberChange(before, change, members);
  }

  /** Checks the transition, runs the hooks around the stored change, refreshes the sockets. */
  async applyMemberChange(
    before: MemberRow,
    change: MemberChange,
    members: readonly MemberRow[],
  ): Promise<MemberRow> {
    const next = { ...before, ...change };
    checkTransition(next, change, members);
    const ctx = { ops: this, actor: this.caller, before, next, change: { ...change }, members };
    await runMemberStateHook("beforeMemberChange", ctx);
    const after = await updateMember(this.db, this.threadId, before.userId, ctx.change);
    if (!after) throw notFound("Member");
    this.fanout.memberChanged(after);
    await runMemberStateHook("afterMemberChange", {
      ops: this,
      actor: this.caller,
      before,
      after,
    });
    return after;
  }

  /**
   * Stores a message with its unread rows (members with `unread` who may see it, never the
   * sender), last-message pointers (members who may see it) and the poster's idempotency key in
   * one transaction, then sends it, emits `thread.message_created` and nudges the members whose
   * unread count rose. Messages stored earlier but never published (an eviction cut their post
   * short) go out first, in stored order.
   */
  async storeMessage(draft: MessageDraft, key: PostKey | null = null): Promise<MessageRow> {
    const members = await this.members();
    const filterable: FilterableMessage = {
      type: draft.type,
      senderId: draft.sender?.id ?? null,
      meta: draft.meta,
    };
    const seeing = members.filter((m) => this.settings.messageFilter(filterable, memberViewer(m)));
    const unreadFor = seeing
      .filter((m) => hasFlag(m.notifications, "unread") && m.userId !== draft.sender?.id)
      .map((m) => m.userId);
    const { message, unpublished } = await insertMessage(this.db, {
      threadId: this.threadId,
      senderId: draft.sender?.id ?? null,
      senderName: draft.sender?.name ?? null,
      type: draft.type,
      text: draft.text,
      meta: draft.meta,
      relatedQuestionId: draft.relatedQuestionId,
      answers: draft.answers,
      attachments: draft.attachments,
      unreadFor,
      lastFor: seeing.map((m) => m.userId),
      key,
      publishedUpTo: this.fanout.publishedMessageId(),
    });
    for (const row of unpublished) {
      await this.announceCreated(row, row.id === message.id ? unreadFor : undefined);
    }
    return message;
  }

  /**
   * Publishes what the thread stored after the last of it the room published: a post, edit or
   * delete cut off by an eviction between its D1 write and its publish. New messages first,
   * then edits and deletes, each in stored order.
   */
  async publishUnpublished(): Promise<void> {
    const { messages, changes } = await unpublishedAfter(this.db, this.threadId, {
      messageId: this.fanout.publishedMessageId(),
      changeId: this.fanout.publishedChangeId(),
    });
    for (const row of messages) await this.announceCreated(row);
    await this.announceChanges(changes);
  }

  /** The last edit or delete the room published: a change's batch reads the ones after it. */
  publishedChangeId(): number {
    return this.fanout.publishedChangeId();
  }

  /** A new message's event and webhook; both are once per message however often this runs. */
  async announceCreated(row: MessageRow, unreadFor?: readonly string[]): Promise<void> {
    await this.announce(row, unreadFor, { message: row.id });
    await emitMessageCreated(this.env, this.threadId, row);
  }

  /**
   * Publishes stored edits and deletes in stored order, each once however often this runs.
   * `made`: the change this operation just stored, with the members whose unread count it moved.
   */
  async announceChanges(
    changes: readonly MessageChange[],
    made?: { messageId: number; unreadChanged: readonly string[] },
  ): Promise<void> {
    for (const { changeId, message } of changes) {
      const unreadChanged = message.id === made?.messageId ? made.unreadChanged : undefined;
      await this.announce(message, unreadChanged, { change: changeId });
    }
  }

  /**
   * Sends a stored (new, edited or deleted) message to the room, each member with its own view,
   * then nudges `unreadChanged` on the bus with their new counts (by default every member with
   * an unread row for it).
   */
  private async announce(
    row: MessageRow,
    unreadChanged: readonly string[] | undefined,
    announced: Announced,
  ): Promise<void> {
    const [thread, members, counts] = await Promise.all([
      this.thread(),
      this.members(),
      unreadCounts(this.db, this.threadId),
    ]);
    const attachments = row.deleted ? [] : await attachmentsOf(this.db, [row.id]);
    const base = row.deleted
      ? deletedMessage(row)
      : messageBase(row, attachments, this.settings.attachmentTypes);
    const filterable = { type: row.type, senderId: row.senderId, meta: row.meta ?? null };
    const receiving = members.filter(
      (m) =>
        hasFlag(m.notifications, "ws") && this.settings.messageFilter(filterable, memberViewer(m)),
    );
    const lastIds = [
      ...new Set(receiving.map((m) => m.lastMessageId).filter((id): id is number => id !== null)),
    ];
    const [bases, unread] = await Promise.all([
      loadBases(this.db, this.settings, lastIds),
      unreadKeys(this.db, this.threadId, [row.id, ...lastIds]),
    ]);
    const recipients: Record<string, RecipientView> = {};
    for (const m of receiving) {
      const { last_message_data: _, ...view } = memberView(
        thread,
        m,
        counts.get(m.userId) ?? 0,
        null,
      );
      const lastId =
        m.lastMessageId !== null && bases.has(m.lastMessageId) ? m.lastMessageId : null;
      recipients[m.userId] = {
        view,
        is_read: !unread.has(`${m.userId}:${row.id}`),
        last_message_id: lastId,
        last_is_read: lastId === null || !unread.has(`${m.userId}:${lastId}`),
      };
    }
    this.fanout.publishMessageEvent(
      {
        thread: threadHead(thread),
        message: base,
        filterable,
        recipients,
        last_messages: Object.fromEntries(bases),
      },
      announced,
    );
    const nudged =
      unreadChanged ??
      members.filter((m) => unread.has(`${m.userId}:${row.id}`)).map((m) => m.userId);
    await nudgeUnread(
      this.env,
      this.settings.busDb,
      this.threadId,
      nudged.map((u) => [u, counts.get(u) ?? 0]),
    );
  }
}
