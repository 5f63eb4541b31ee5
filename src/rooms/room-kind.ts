import type { Caller } from "../auth/caller";

/** How the Worker reaches one kind of room (`/ws/<kind>/<id>`). */
export interface RoomKind {
  /** The Durable Object that holds the room's sockets. */
  stub(env: Env, id: string): DurableObjectStub;
  /**
   * Checks made before the upgrade, so a refused client never reaches the room:
   * throw 404 when the room does not exist, 403 when the caller may not enter, 410 when it ended.
   */
  admit(env: Env, id: string, caller: Caller, request: Request): Promise<void>;
}

export type RoomKinds = Record<string, RoomKind>;
