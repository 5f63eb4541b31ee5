import type { Caller } from "../platform/auth/caller";
import * as time from "../platform/time";
import { credentialFacts } from "./socket-credential";

/**
 * Per-connection facts, kept in the socket attachment so they survive hibernation.
 * `state` is the room kind's own per-socket data (subscriptions, channels...).
 */
export interface Member<S = Record<string, unknown>> {
  userId: string | null;
  name: string;
  permissions: string[];
  admin: boolean;
  lang?: string;
  connectedAt: number;
  /** Last frame received from the client (auto-answered pings are tracked by the runtime). */
  lastSeen: number;
  /** When the socket's credential ends (epoch ms); the socket is closed 4401 then. */
  expiresAt?: number;
  /** The API key behind the credential: the socket closes 4401 when the key is revoked. */
  keyId?: string;
  /** When `token_expiring` is due; removed once sent, so each credential is warned once. */
  warnAt?: number;
  /** Set on a shard's sockets: how the room names the socket to leave it out of a broadcast. */
  sid?: string;
  /** Connected with `?batch=1`: a delivery pass's frames reach it as one JSON array. */
  batch?: true;
  /** The socket's connection in the room's presence (rooms that track presence). */
  presenceConn?: string;
  state: S;
}

export function memberFromCaller<S>(caller: Caller, state: S, now = time.now()): Member<S> {
  const base = { connectedAt: now, lastSeen: now, state };
  switch (caller.kind) {
    case "admin":
      return { ...base, userId: null, name: "admin", permissions: [], admin: true };
    case "user":
      return {
        ...base,
        ...credentialFacts(caller, now),
        userId: caller.user.id,
        name: caller.user.name,
        admin: false,
      };
    case "anonymous":
      return { ...base, userId: null, name: "anonymous", permissions: [], admin: false };
  }
}

export function memberCan(member: Member<unknown>, permission: string): boolean {
  return member.admin || member.permissions.includes(permission);
}
