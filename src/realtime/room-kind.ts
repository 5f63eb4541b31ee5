import type { Caller } from "../platform/auth/caller";

/** How the Worker reaches one kind of room (`/ws/<kind>/<id>`). */
export interface RoomKind {
  /** The Durable Object that holds the room's sockets. */
  stub(env: Env, id: string): DurableObjectStub;
  /**
   * Checks made before the upgrade, so a refused client never reaches the room:
   * throw 404 when the room does not exist, 403 when the caller may not enter, 410 when it ended.
   * What it returns (e.g. the bus's authorised channels) reaches the room as JSON with the
   * request: the room uses the Worker's decision instead of deriving it again.
   */
  admit(env: Env, id: string, caller: Caller, request: Request): Promise<unknown>;
  /** The room keeps presence: its roster is `GET /api/rooms/<kind>/<id>/presence`. */
  tracksPresence?: boolean;
}

export type RoomKinds = Record<string, RoomKind>;
