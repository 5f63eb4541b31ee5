import { liveKeyIds } from "../platform/auth/api-keys";
import { type Caller, resolveCredential } from "../platform/auth/caller";
import { ApiError, unauthorized } from "../platform/errors";
import * as time from "../platform/time";
import {
  AuthData,
  type ClientFrame,
  type CloseReason,
  issuesToErrors,
  type Reply,
  type RequestId,
  type ServerEvent,
  TOKEN_EXPIRING_EVENT,
} from "../protocol";
import type { Member } from "./member";
import {
  credentialDueAt,
  credentialFacts,
  KEY_CHECK_INTERVAL_MS,
  maxSocketsPerUser,
  sameHolder,
  userTag,
} from "./socket-credential";

/** Room meta: when the key check is next due (epoch ms), so a woken room does not repeat it. */
const KEY_CHECK_AT = "key_check_at";

/** What the lifetime of sockets needs from its room (the base room). */
export interface LifetimeHost<S> {
  /** Read at each use: a test may give one room another `env` (a lower socket cap). */
  env(): Env;
  sockets(): WebSocket[];
  socketsTagged(tag: string): WebSocket[];
  memberOf(ws: WebSocket): Member<S>;
  saveMember(ws: WebSocket, member: Member<S>): void;
  send(ws: WebSocket, frame: ServerEvent | Reply): void;
  sendError(ws: WebSocket, status: number, errors: string[], requestId?: RequestId): void;
  closeSocket(ws: WebSocket, reason: CloseReason, text: string): Promise<void>;
  meta(key: string): string | null;
  setMeta(key: string, value: string): void;
  ensureAlarmBy(due: number): Promise<void>;
  reportError(err: unknown, where: string): ApiError;
  credentialRefreshed(ws: WebSocket, member: Member<S>, previous: Member<S>): Promise<void>;
}

/**
 * A socket lives only as long as its credential: it is warned (`token_expiring`) before the
 * credential ends, may refresh it in band (`auth`), and is closed 4401 when it ends or its API
 * key is revoked. One user holds at most `MAX_SOCKETS_PER_USER` sockets in a room.
 *
 * All of it rides on the room's single alarm: a socket's next due time is in its attachment
 * (`warnAt`, then `expiresAt`), so a room whose sockets do not expire is never woken for them.
 */
export class SocketLifetime<S> {
  constructor(private readonly room: LifetimeHost<S>) {}

  /** The user's tag for a new socket (admin sockets have none: they are not capped). */
  tagsOf(member: Member<S>): string[] {
    return member.userId === null ? [] : [userTag(member.userId)];
  }

  /**
   * The 429 for a user's socket past `MAX_SOCKETS_PER_USER` in this room, else null. Admin
   * sockets are not capped: the admin token is the operator's own and may do everything anyway.
   */
  refusal(member: Member<S>): ApiError | null {
    if (member.userId === null) return null;
    const cap = maxSocketsPerUser(this.room.env());
    if (this.room.socketsTagged(userTag(member.userId)).length < cap) return null;
    return new ApiError("rate_limited", `A user may hold at most ${cap} sockets in one room`);
  }

  /** When this socket next needs the alarm; null: never (admin, or a key without expiry). */
  dueAt(member: Member<S>, now = time.now()): number | null {
    const due = [credentialDueAt(member)];
    if (member.keyId !== undefined) due.push(now + KEY_CHECK_INTERVAL_MS);
    const known = due.filter((at) => at !== null);
    return known.length ? Math.min(...known) : null;
  }

  /** The earliest due time over the open sockets, for the room's next alarm. */
  nextDueAt(open: WebSocket[]): number | null {
    let next: number | null = null;
    let keyed = false;
    for (const ws of open) {
      const member = this.room.memberOf(ws);
      const at = credentialDueAt(member);
      if (at !== null && (next === null || at < next)) next = at;
      keyed ||= member.keyId !== undefined;
    }
    if (!keyed) return next;
    const check = Number(this.room.meta(KEY_CHECK_AT) ?? 0);
    return next === null ? check : Math.min(next, check);
  }

  expired(member: Member<S>, now = time.now()): boolean {
    return member.expiresAt !== undefined && member.expiresAt <= now;
  }

  /**
   * The alarm's part: warns sockets whose credential ends soon (once per credential), closes
   * those whose credential ended, and checks the API keys behind the others.
   */
  async enforce(now = time.now()): Promise<void> {
    const keyed: WebSocket[] = [];
    for (const ws of this.room.sockets()) {
      const member = this.room.memberOf(ws);
      if (this.expired(member, now)) {
        await this.room.closeSocket(ws, "credentialExpired", "credential expired");
        continue;
      }
      if (member.warnAt !== undefined && member.warnAt <= now) this.warn(ws, member);
      if (member.keyId !== undefined) keyed.push(ws);
    }
    if (keyed.length) await this.checkKeys(keyed, now);
  }

  /**
   * The in-band refresh: a fresh credential of the socket's own user replaces its permissions,
   * expiry and key. Anything else is a 401 and changes nothing.
   */
  async refresh(ws: WebSocket, frame: ClientFrame): Promise<void> {
    const data = AuthData.safeParse(frame.data);
    if (!data.success) {
      const errors = issuesToErrors(data.error).map((e) => `data.${e}`);
      this.room.sendError(ws, 400, errors, frame.requestId);
      return;
    }
    let caller: Caller;
    try {
      caller = await resolveCredential(this.room.env(), data.data.token);
    } catch (err) {
      const api = this.room.reportError(err, "auth");
      this.room.sendError(ws, api.status, [api.message], frame.requestId);
      return;
    }
    const previous = this.room.memberOf(ws);
    if (!sameHolder(previous, caller)) {
      const api = unauthorized("The token must belong to this socket's user");
      this.room.sendError(ws, api.status, [api.message], frame.requestId);
      return;
    }
    // An admin socket stays as it is: it has no expiry to extend.
    const member = caller.kind === "user" ? { ...previous, ...credentialFacts(caller) } : previous;
    if (member !== previous) {
      this.room.saveMember(ws, member);
      const due = this.dueAt(member);
      if (due !== null) await this.room.ensureAlarmBy(due);
    }
    if (frame.requestId !== undefined) {
      const expiresAt = member.expiresAt === undefined ? null : new Date(member.expiresAt);
      this.room.send(ws, {
        request_id: frame.requestId,
        status: 200,
        errors: [],
        data: { expires_at: expiresAt?.toISOString() ?? null },
      });
    }
    // After the reply: the frame is answered once, whatever the room does with the change.
    if (member !== previous) await this.room.credentialRefreshed(ws, member, previous);
  }

  private warn(ws: WebSocket, member: Member<S>): void {
    if (member.expiresAt === undefined) return;
    const expiresAt = new Date(member.expiresAt).toISOString();
    this.room.send(ws, { event: TOKEN_EXPIRING_EVENT, data: { expires_at: expiresAt } });
    this.room.saveMember(ws, { ...member, warnAt: undefined });
  }

  /** Closes 4401 the sockets whose API key was revoked or expired; at most every interval. */
  private async checkKeys(keyed: WebSocket[], now: number): Promise<void> {
    if (now < Number(this.room.meta(KEY_CHECK_AT) ?? 0)) return;
    this.room.setMeta(KEY_CHECK_AT, String(now + KEY_CHECK_INTERVAL_MS));
    const asked = new Map(keyed.map((ws) => [ws, this.room.memberOf(ws).keyId]));
    let live: Set<string>;
    try {
      const ids = [...asked.values()].filter((id) => id !== undefined);
      live = await liveKeyIds(this.room.env(), ids);
    } catch (err) {
      // D1 unavailable: the next interval asks again; the room's other alarm work goes on.
      this.room.reportError(err, "key check");
      return;
    }
    for (const [ws, keyId] of asked) {
      // A socket refreshed meanwhile to another credential is judged at the next check.
      if (keyId === undefined || live.has(keyId) || this.room.memberOf(ws).keyId !== keyId)
        continue;
      if (ws.readyState !== WebSocket.OPEN) continue;
      await this.room.closeSocket(ws, "credentialExpired", "API key revoked or expired");
    }
  }
}
