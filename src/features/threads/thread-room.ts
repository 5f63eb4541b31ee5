import type { Caller } from "../../platform/auth/caller";
import { hasPermission, PERMISSIONS } from "../../platform/auth/permissions";
import { getDb } from "../../platform/db";
import { forbidden, notFound } from "../../platform/errors";
import type { IdempotentRun } from "../../platform/idempotency/run";
import { logger } from "../../platform/log";
import { CLOSE_CODES, type ServerEvent, threadClientEvents } from "../../protocol";
import { BaseRoom, closeQuietly } from "../../realtime/base-room";
import { EventTooLarge } from "../../realtime/event-stream";
import type { Member } from "../../realtime/member";
import type { RoomKind } from "../../realtime/room-kind";
import { asResult, type RpcResult } from "../../realtime/rpc-result";
import { type RestartClock, scheduledRestarts } from "./extensions";
import type {
  CreateThreadInput,
  EditMessageInput,
  EditThreadInput,
  MemberChangeInput,
  MemberInput,
  PostMessageInput,
} from "./inputs";
import { addMember, changeMemberByCaller, removeMember } from "./member-ops";
import {
  MESSAGE_EVENT,
  type MessageEventData,
  renderMessageEvent,
  type ThreadSocketState,
} from "./message-event";
import { deleteMessage, editMessage, postMessage } from "./message-ops";
import { hasFlag } from "./notifications";
import { nudgeUnread } from "./nudge";
import {
  findMember,
  findThread,
  isObserving,
  type MemberRow,
  markRead,
  unreadCount,
} from "./queries";
import { newestChangeId, newestMessageId } from "./queries-publish";
import { callerThreadView } from "./read";
import { type Announced, type ThreadFanOut, ThreadService } from "./service";
import { chatSettings } from "./settings";
import { createThread, deleteThread, editThread } from "./thread-ops";

export const TYPING_EVENT = "thread_someone_is_writing";
/** Close codes: the member was removed / stopped observing; the thread was deleted. */
const CLOSE_REMOVED = CLOSE_CODES.accessRemoved.code;
const CLOSE_DELETED = CLOSE_CODES.roomDeleted.code;
/** Room meta: the D1 id of the last new message published to the stream. */
const PUBLISHED_MESSAGE = "published_message_id";
/** Room meta: the id of the last edit or delete (`thread_message_changes`) published. */
const PUBLISHED_CHANGE = "published_change_id";
const ADMIN: Caller = { kind: "admin" };

/**
 * One room per chat thread (`/ws/threads/:id`), and the one writer of that thread: every REST
 * change arrives here by RPC and runs one at a time (`exclusive`), so a message, its unread rows
 * and last-message pointers, and the scripted flow's next step never interleave.
 *
 * State lives in D1 (threads, members, messages, unread rows, observers) and in the room's own
 * ordered stream; a socket's attachment only caches its role and flags, so an evicted room
 * rebuilds from storage on the next request.
 *
 * `message_created_or_updated` is part of the ordered stream (`seq`, `?since=` replay): the
 * stored event holds the message once plus each receiving member's own part, and `renderFor`
 * gives every socket its own view or nothing. `thread_someone_is_writing` is ephemeral.
 *
 * A new message, an edit or a delete is in D1 before its event is in the stream; an eviction can
 * fall between the two. The room records, with each event, what it announces: the new message's
 * id, or the change's id in `thread_message_changes`. Every message stored after the one
 * recorded, and every change recorded after the change recorded, is due. The first operation of
 * a woken room and every joining socket publish what is due first, in stored order, and what
 * is already recorded is never published again.
 */
export class ThreadRoom extends BaseRoom<ThreadSocketState> implements ThreadFanOut {
  /** Listeners need not speak: a quiet socket is still subscribed. */
  protected override readonly dropsSilentSockets = false;
  /**
   * For `room.occupied`/`room.vacated` and the roster route (contract §10): who has the thread
   * open. The thread's own member list (D1) is a different thing and stays as it is.
   */
  protected override readonly tracksPresence = true;
  /** Whether this instance has published everything due; false again after a failed operation. */
  private caughtUp = false;

  protected readonly commands = {
    mark_message_as_read: this.command({
      schema: threadClientEvents.mark_message_as_read,
      handle: async ({ member, data }) => {
        if (member.state.role !== "member" || !member.userId) {
          throw forbidden("Only members have unread messages");
        }
        const db = getDb(this.env.DB);
        const read = await markRead(db, this.roomId, member.userId, [data.message]);
        const unread = await unreadCount(db, this.roomId, member.userId);
        if (read.size) {
          await nudgeUnread(this.env, chatSettings(this.env).busDb, this.roomId, [
            [member.userId, unread],
          ]);
        }
        return { message: data.message, unread_count: unread };
      },
    }),
    [TYPING_EVENT]: this.command({
      schema: threadClientEvents[TYPING_EVENT],
      handle: ({ ws, member, data }) => {
        if (member.state.role !== "member" || !member.userId) {
          throw forbidden("Only members may say they are writing");
        }
        const frame = {
          event: TYPING_EVENT,
          data: {
            thread: this.roomId,
            user: { id: member.userId, name: member.name },
            length: data.length,
          },
        };
        for (const other of this.sockets(ws)) {
          const them = this.memberOf(other);
          if (them.userId === member.userId || them.state.role === "none") continue;
          if (them.state.role === "member" && !hasFlag(them.state.notifications, "ws")) continue;
          this.send(other, frame);
        }
      },
    }),
  };

  /**
   * The socket's role from D1, so a `?since=` replay is already this member's own view; due
   * messages are published first, so the replay includes them.
   */
  protected override async initialState(
    _request: Request,
    caller: Caller,
  ): Promise<ThreadSocketState> {
    const [state] = await Promise.all([
      this.socketState(caller),
      this.exclusive(() => this.catchUp(this.service(ADMIN))),
    ]);
    return state ?? NO_ROLE;
  }

  /** Admission checked the caller before the upgrade; one that lost its place meanwhile leaves. */
  protected override onJoin(ws: WebSocket, member: Member<ThreadSocketState>) {
    if (member.state.role === "none") ws.close(CLOSE_REMOVED, "not a member of this thread");
  }

  /** Members stay by membership; an observer whose refreshed token lost `threads.observe` goes. */
  protected override async onCredentialRefreshed(
    ws: WebSocket,
    member: Member<ThreadSocketState>,
  ): Promise<void> {
    if (member.state.role !== "observer" || this.can(member, PERMISSIONS.threadsObserve)) return;
    await this.closeSocket(ws, "accessRemoved", "'threads.observe' is no longer granted");
  }

  private async socketState(caller: Caller): Promise<ThreadSocketState | null> {
    if (caller.kind === "admin") return { role: "admin", notifications: 0, roles: [] };
    if (caller.kind !== "user") return null;
    const db = getDb(this.env.DB);
    const row = await findMember(db, this.roomId, caller.user.id);
    if (row) return memberState(row);
    return (await isObserving(db, caller.user.id, this.roomId))
      ? { role: "observer", notifications: 0, roles: [] }
      : null;
  }

  protected override renderFor(
    event: ServerEvent,
    member: Member<ThreadSocketState>,
  ): ServerEvent | null {
    if (event.event !== MESSAGE_EVENT) return event;
    const data = renderMessageEvent(
      event.data as MessageEventData,
      { userId: member.userId, state: member.state },
      chatSettings(this.env).messageFilter,
    );
    return data ? { ...event, data } : null;
  }

  /**
   * `resync`: the socket's current view of the thread (messages are listed over REST), read
   * fresh from D1.
   */
  protected override async snapshot(member: Member<ThreadSocketState>) {
    const db = getDb(this.env.DB);
    const thread = await findThread(db, this.roomId);
    if (!thread) return { user_thread: null };
    const caller: Caller = member.admin
      ? { kind: "admin" }
      : { kind: "user", user: { id: member.userId ?? "", name: member.name }, permissions: [] };
    const row =
      !member.admin && member.userId ? await findMember(db, this.roomId, member.userId) : null;
    const settings = chatSettings(this.env);
    return { user_thread: await callerThreadView(db, settings, { thread, member: row, caller }) };
  }

  // ---- RPC from the REST routes (each answers an RpcResult) ------------------------------

  createThread(threadId: string, caller: Caller, input: CreateThreadInput) {
    return this.run(threadId, caller, (svc) => createThread(svc, this, input));
  }

  editThread(threadId: string, caller: Caller, input: EditThreadInput) {
    return this.run(threadId, caller, (svc) => editThread(svc, input));
  }

  async deleteThread(threadId: string, caller: Caller): Promise<RpcResult<null>> {
    const result = await this.run(threadId, caller, async (svc) => {
      await deleteThread(svc);
      return null;
    });
    if (result.ok) this.closeSockets(() => true, CLOSE_DELETED, "thread deleted");
    return result;
  }

  addMember(threadId: string, caller: Caller, input: MemberInput) {
    return this.run(threadId, caller, (svc) => addMember(svc, this, input));
  }

  changeMember(threadId: string, caller: Caller, userId: string, input: MemberChangeInput) {
    return this.run(threadId, caller, (svc) => changeMemberByCaller(svc, userId, input));
  }

  removeMember(threadId: string, caller: Caller, userId: string) {
    return this.run(threadId, caller, async (svc) => {
      await removeMember(svc, this, userId);
      return null;
    });
  }

  postMessage(
    threadId: string,
    caller: Caller,
    input: PostMessageInput,
    keyed: IdempotentRun | null,
  ) {
    return this.run(threadId, caller, (svc) => postMessage(svc, input, keyed));
  }

  editMessage(threadId: string, caller: Caller, id: number, input: EditMessageInput) {
    return this.run(threadId, caller, (svc) => editMessage(svc, id, input));
  }

  deleteMessage(threadId: string, caller: Caller, id: number) {
    return this.run(threadId, caller, async (svc) => {
      await deleteMessage(svc, id);
      return null;
    });
  }

  /** The user now observes another thread: its observer sockets here close. */
  async dropObserver(threadId: string, userId: string): Promise<void> {
    this.bind(threadId);
    this.closeSockets(
      (m) => m.userId === userId && m.state.role === "observer",
      CLOSE_REMOVED,
      "observing another thread",
    );
  }

  private run<T>(
    threadId: string,
    caller: Caller,
    fn: (svc: ThreadService) => Promise<T>,
  ): Promise<RpcResult<T>> {
    this.bind(threadId);
    return asResult(
      () =>
        this.exclusive(async () => {
          const svc = this.service(caller);
          if (!this.caughtUp) await this.catchUp(svc);
          try {
            const result = await fn(svc);
            await scheduledRestarts()?.plan(svc, this.restartClock);
            return result;
          } catch (err) {
            // It may have stored a message it did not publish.
            this.caughtUp = false;
            throw err;
          }
        }),
      (err) => this.reportError(err, "rpc"),
    );
  }

  private service(caller: Caller): ThreadService {
    return new ThreadService(this.env, this.roomId, caller, this);
  }

  /**
   * Publishes the messages and changes due (see the class comment). A room without a record yet
   * (it predates it) starts from the thread's newest message or change instead of replaying its
   * history.
   */
  private async catchUp(svc: ThreadService): Promise<void> {
    if (this.meta(PUBLISHED_MESSAGE) === null) {
      this.setMeta(PUBLISHED_MESSAGE, String(await newestMessageId(svc.db, svc.threadId)));
    }
    if (this.meta(PUBLISHED_CHANGE) === null) {
      this.setMeta(PUBLISHED_CHANGE, String(await newestChangeId(svc.db, svc.threadId)));
    }
    await svc.publishUnpublished();
    this.caughtUp = true;
  }

  // ---- scheduled work of a registered extension (scripted repeats: on_finish with a frequency) ---

  private readonly restartClock: RestartClock = {
    meta: (key) => this.meta(key),
    setMeta: (key, value) => this.setMeta(key, value),
    wakeBy: (at) => this.ensureAlarmBy(at),
  };

  protected override nextAlarmAt(): number | null {
    return scheduledRestarts()?.alarmAt(this.restartClock) ?? null;
  }

  protected override async onAlarm(): Promise<void> {
    const restarts = scheduledRestarts();
    if (!this.roomId || !restarts || restarts.alarmAt(this.restartClock) === null) return;
    const result = await this.run(this.roomId, { kind: "admin" }, (svc) =>
      restarts.runDue(svc, this.restartClock),
    );
    if (!result.ok) {
      logger.error("Scheduled restarts failed", {
        event: "thread.restarts_failed",
        room: `ThreadRoom:${this.roomId}`,
        error: result.error,
      });
    }
  }

  // ---- ThreadFanOut ----------------------------------------------------------------------

  publishMessageEvent(data: MessageEventData, announced: Announced): void {
    const [record, id] =
      "change" in announced
        ? [PUBLISHED_CHANGE, announced.change]
        : [PUBLISHED_MESSAGE, announced.message];
    if (id <= this.published(record)) return;
    try {
      // The record and the event are one write: an eviction keeps both or neither.
      this.ctx.storage.transactionSync(() => {
        this.setMeta(record, String(id));
        this.publish(MESSAGE_EVENT, data);
      });
    } catch (err) {
      if (!(err instanceof EventTooLarge)) throw err;
      // A stored record the stream refuses (a row from before the bounds) would otherwise be
      // due again before every operation of this thread: it is recorded as published, unsent.
      this.setMeta(record, String(id));
      logger.error(`skipped ${record.replace("published_", "")} ${id}: ${err.message}`, {
        event: "thread.record_skipped",
        room: `ThreadRoom:${this.roomId}`,
      });
    }
  }

  checkMessageEvent(data: MessageEventData): void {
    this.stream.check(MESSAGE_EVENT, data);
  }

  publishedMessageId(): number {
    return this.published(PUBLISHED_MESSAGE);
  }

  publishedChangeId(): number {
    return this.published(PUBLISHED_CHANGE);
  }

  private published(record: string): number {
    return Number(this.meta(record) ?? 0);
  }

  memberChanged(row: MemberRow): void {
    for (const ws of this.sockets()) {
      const member = this.memberOf(ws);
      if (member.userId === row.userId && !member.admin) {
        this.saveMember(ws, { ...member, state: memberState(row) });
      }
    }
  }

  memberRemoved(userId: string): void {
    this.closeSockets(
      (m) => m.userId === userId && m.state.role === "member",
      CLOSE_REMOVED,
      "removed from the thread",
    );
  }

  private closeSockets(
    match: (m: Member<ThreadSocketState>) => boolean,
    code: number,
    reason: string,
  ): void {
    for (const ws of this.sockets()) {
      if (match(this.memberOf(ws))) closeQuietly(ws, code, reason);
    }
  }
}

/** A socket that is neither member, observer nor admin: it receives nothing and is closed. */
const NO_ROLE: ThreadSocketState = { role: "none", notifications: 0, roles: [] };

function memberState(row: MemberRow): ThreadSocketState {
  return { role: "member", notifications: row.notifications, roles: row.roles };
}

export type ThreadRoomStub = DurableObjectStub<ThreadRoom>;

export function threadRoom(env: Env, id: string): ThreadRoomStub {
  return env.THREAD_ROOM.get(env.THREAD_ROOM.idFromName(id));
}

/**
 * Members, the admin token, and users observing this thread with `threads.observe`
 * (`POST /api/threads/:id/ws-subscribe`) may connect.
 */
export const threadKind: RoomKind = {
  stub: (env, id) => threadRoom(env, id),
  tracksPresence: true,
  admit: async (env, id, caller) => {
    const db = getDb(env.DB);
    if (!(await findThread(db, id))) throw notFound("Thread");
    if (caller.kind === "admin") return;
    if (caller.kind !== "user") throw forbidden();
    if (await findMember(db, id, caller.user.id)) return;
    const observing =
      hasPermission(caller, PERMISSIONS.threadsObserve) &&
      (await isObserving(db, caller.user.id, id));
    if (!observing) throw forbidden("Only members and observers of this thread may connect");
  },
};
