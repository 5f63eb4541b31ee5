import { z } from "zod";
import { AuthReplySchema, ErrorDataSchema, TokenExpiringDataSchema } from "./base-event-schemas";
import { AUTH_EVENT, ERROR_EVENT, RESYNC_EVENT, TOKEN_EXPIRING_EVENT } from "./base-events";
import { PollAnswer } from "./bus";
import type { ClientReplies, RoomKindName, ServerEvents } from "./events";
import { PokerSnapshotSchema, pokerServerEventSchemas } from "./poker-event-schemas";
import {
  StateSnapshotSchema,
  stateReplySchemas,
  stateServerEventSchemas,
} from "./state-event-schemas";
import {
  ThreadSnapshotSchema,
  threadReplySchemas,
  threadServerEventSchemas,
} from "./thread-event-schemas";

/**
 * Every room kind's server events and reply data as zod schemas, beside the types the server
 * and the SDK compile (`ServerEvents`, `ClientReplies` in `events.ts`). The AsyncAPI document
 * turns these into JSON Schemas; the checks at the end of this file fail to compile when a
 * schema and its type differ in any way, or an event is in one map and not the other.
 */

/** The events the base room sends in every kind, beside the kind's own. */
function withBaseEvents<S extends Record<string, z.ZodType>, Snapshot extends z.ZodType>(
  events: S,
  snapshot: Snapshot,
) {
  return {
    ...events,
    [RESYNC_EVENT]: snapshot,
    [ERROR_EVENT]: ErrorDataSchema,
    [TOKEN_EXPIRING_EVENT]: TokenExpiringDataSchema,
  };
}

export const SERVER_EVENTS = {
  poker: withBaseEvents(pokerServerEventSchemas, PokerSnapshotSchema),
  threads: withBaseEvents(threadServerEventSchemas, ThreadSnapshotSchema),
  /** The bus keeps no state to resync: its `message` events resume by `last_message`. */
  bus: withBaseEvents({ message: PollAnswer }, z.record(z.string(), z.never())),
  persons: withBaseEvents(stateServerEventSchemas, StateSnapshotSchema),
} satisfies Record<RoomKindName, Record<string, z.ZodType>>;

/** The data of replies that carry some (every other reply has no `data`). */
export const CLIENT_REPLIES = {
  poker: { [AUTH_EVENT]: AuthReplySchema },
  threads: { ...threadReplySchemas, [AUTH_EVENT]: AuthReplySchema },
  bus: { [AUTH_EVENT]: AuthReplySchema },
  persons: { ...stateReplySchemas, [AUTH_EVENT]: AuthReplySchema },
} satisfies Record<RoomKindName, Record<string, z.ZodType>>;

/** `true` only when A and B are the same type, not merely assignable one to the other. */
type Same<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** The events whose schema is missing, extra, or yields another type than declared. */
type Drift<Schemas, Types> = {
  [E in keyof Schemas | keyof Types]: E extends keyof Schemas & keyof Types
    ? Schemas[E] extends z.ZodType
      ? Same<z.output<Schemas[E]>, Types[E]> extends true
        ? never
        : E
      : E
    : E;
}[keyof Schemas | keyof Types];

/** Every drift as `<kind>.<event>`; `never` while the schemas and the types agree. */
type DriftIn<Schemas extends Record<RoomKindName, unknown>, Types> = {
  [K in RoomKindName]: K extends keyof Types ? `${K}.${Drift<Schemas[K], Types[K]> & string}` : K;
}[RoomKindName];

/** Compiles only with `never`: a compile error here names each event that drifted. */
type NoDrift<T extends never> = T;
export type ServerEventSchemasInSync = NoDrift<DriftIn<typeof SERVER_EVENTS, ServerEvents>>;
export type ReplySchemasInSync = NoDrift<DriftIn<typeof CLIENT_REPLIES, ClientReplies>>;
