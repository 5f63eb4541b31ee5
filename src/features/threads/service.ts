import type { Caller } from "../../platform/auth/caller";
import { type Db, getDb } from "../../platform/db";
import { notFound } from "../../platform/errors";
import * as time from "../../platform/time";
import { dispatchEvents, outboxStatements } from "../webhooks";
import { authorize, memberViewer, type ThreadAccess } from "./access";
import type { StoredAttachment } from "./attachments";
import {
  checkTransition,
  type MemberChange,
  runMemberStateHook,
  type SystemMessageInput,
  type ThreadOps,
} from "./member-state";
import { messageCreatedEvent, messageCreatedUuid } from "./message-created";
import type { MessageEventData, RecipientView } from "./message-event";
import { hasFlag } from "./notifications";
import { nudgeUnread } from "./nudge";
import {
  type AttachmentRow,
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
} from "./queries";
import { type MessageChange, unpublishedAfter } from "./queries-publish";
import { loadBases } from "./read";
import { type ChatSettings, chatSettings, type ThreadRoute } from "./settings";
import type { FilterableMessage } from "./viewer";
import { deletedMessage, type MessageBase, memberView, messageBase, threadHead } from "./views";

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
   * change it has already published. A stored record whose event the stream refuses (over its
   * size limit) is recorded as skipped, so it never holds up what comes after it.
   */
  publishMessageEvent(data: MessageEventData, announced: Announced): void;
  /** Throws 413 when the stream would refuse this event: called before the write it announces. */
  checkMessageEvent(data: MessageEventData): void;
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
   * sender), last-message pointers (members who may see it), its record on the request's
   * idempotency key (`keyId`) and its `thread.message_created` event in one transaction, then
   * sends it, dispatches the event and nudges the members whose unread count rose. Messages
   * stored earlier but never published (an eviction cut their post short) go out first, in
   * stored order.
   */
  async storeMessage(draft: MessageDraft, keyId: string | null = null): Promise<MessageRow> {
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
    await this.checkDraftPublishable(draft, members);
    const event = await messageCreatedEvent(this.env, this.threadId, {
      senderId: draft.sender?.id ?? null,
      type: draft.type,
      text: draft.text,
    });
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
      keyId,
      publishedUpTo: this.fanout.publishedMessageId(),
      announce: (id) => outboxStatements(this.db, [event(id)]),
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

  /**
   * Refuses (413) a new or edited message whose event the room's stream would not take, before
   * it is stored. The event is built as `announce` builds it, with stand-ins at least as long as
   * what is not known yet (ids, unread counts, read flags), so a message that passes here fits
   * when it is published. (`last_messages` is taken to hold only this message: another member's
   * last message, a separate and bounded message, is rarely in an edit's event; a record that
   * still does not fit is skipped by the room, never retried.)
   */
  async checkPublishable(
    row: MessageRow,
    attachments: readonly Omit<AttachmentRow, "id" | "messageId">[],
    members: readonly MemberRow[],
  ): Promise<void> {
    const thread = await this.thread();
    const stored = attachments.map((a) => ({ ...a, id: STAND_IN_ID, messageId: row.id }));
    const base = messageBase(row, stored, this.settings.attachmentTypes);
    const data = this.eventData(thread, members, row, base, {
      unreadCount: () => STAND_IN_ID,
      lastMessages: new Map([[row.id, base]]),
      isUnread: () => true,
      lastId: () => row.id,
    });
    this.fanout.checkMessageEvent(data);
  }

  /** `checkPublishable` for a new message, from its draft. */
  checkDraftPublishable(draft: MessageDraft, members: readonly MemberRow[]): Promise<void> {
    return this.checkPublishable(provisionalRow(this.threadId, draft), draft.attachments, members);
  }

  /** The last edit or delete the room published: a change's batch reads the ones after it. */
  publishedChangeId(): number {
    return this.fanout.publishedChangeId();
  }

  /**
   * A new message's event, then its webhook (recorded with the message) dispatched; both once per
   * message however often this runs.
   */
  async announceCreated(row: MessageRow, unreadFor?: readonly string[]): Promise<void> {
    await this.announce(row, unreadFor, { message: row.id });
    await dispatchEvents(this.env, [messageCreatedUuid(row.id)]);
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
    const lastIds = [
      ...new Set(
        this.receiving(members, row)
          .map((m) => m.lastMessageId)
          .filter((id): id is number => id !== null),
      ),
    ];
    const [bases, unread] = await Promise.all([
      loadBases(this.db, this.settings, lastIds),
      unreadKeys(this.db, this.threadId, [row.id, ...lastIds]),
    ]);
    const data = this.eventData(thread, members, row, base, {
      unreadCount: (userId) => counts.get(userId) ?? 0,
      lastMessages: bases,
      isUnread: (userId, messageId) => unread.has(`${userId}:${messageId}`),
      lastId: (m) => m.lastMessageId,
    });
    this.fanout.publishMessageEvent(data, announced);
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

  /** The members a message event goes to: those with `ws` whom the filter lets see it. */
  private receiving(members: readonly MemberRow[], row: MessageRow): MemberRow[] {
    const filterable = { type: row.type, senderId: row.senderId, meta: row.meta ?? null };
    return members.filter(
      (m) =>
        hasFlag(m.notifications, "ws") && this.settings.messageFilter(filterable, memberViewer(m)),
    );
  }

  /** The message once, with each receiving member's own part (see `MessageEventData`). */
  private eventData(
    thread: ThreadRow,
    members: readonly MemberRow[],
    row: MessageRow,
    message: MessageEventData["message"],
    facts: EventFacts,
  ): MessageEventData {
    const recipients = new Map<string, RecipientView>();
    for (const m of this.receiving(members, row)) {
      const { last_message_data: _, ...view } = memberView(
        thread,
        m,
        facts.unreadCount(m.userId),
        null,
      );
      const wanted = facts.lastId(m);
      const lastId = wanted !== null && facts.lastMessages.has(wanted) ? wanted : null;
      recipients.set(m.userId, {
        view,
        is_read: !facts.isUnread(m.userId, row.id),
        last_message_id: lastId,
        last_is_read: lastId === null || !facts.isUnread(m.userId, lastId),
      });
    }
    return {
      thread: threadHead(thread),
      message,
      filterable: { type: row.type, senderId: row.senderId, meta: row.meta ?? null },
      // Built from entries: a member id such as `__proto__` stays an ordinary key.
      recipients: Object.fromEntries(recipients),
      last_messages: Object.fromEntries(facts.lastMessages),
    };
  }
}

/** What a message event says beyond the message: read from D1, or stand-ins before a write. */
interface EventFacts {
  unreadCount(userId: string): number;
  lastMessages: ReadonlyMap<number, MessageBase>;
  isUnread(userId: string, messageId: number): boolean;
  lastId(member: MemberRow): number | null;
}

/** Stand-in for ids and counts not known before a write: none is longer. */
const STAND_IN_ID = Number.MAX_SAFE_INTEGER;

/** A message as it will be stored, with stand-ins for what D1 assigns (id, timestamps). */
function provisionalRow(threadId: string, draft: MessageDraft): MessageRow {
  const at = time.nowIso();
  return {
    id: STAND_IN_ID,
    threadId,
    senderId: draft.sender?.id ?? null,
    senderName: draft.sender?.name ?? null,
    type: draft.type,
    text: draft.text,
    meta: draft.meta,
    relatedQuestionId: draft.relatedQuestionId,
    answers: draft.answers,
    deleted: false,
    createdAt: at,
    updatedAt: at,
  };
}
