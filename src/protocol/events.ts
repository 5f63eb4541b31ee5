import type { z } from "zod";
import type { AuthReply, BaseServerEvents } from "./base-events";
import { type BusServerEvents, busClientEvents } from "./bus";
import type { AuthData } from "./frames";
import { type PokerServerEvents, type PokerSnapshot, pokerClientEvents } from "./poker-events";
import {
  type StateReplies,
  type StateServerEvents,
  type StateSnapshot,
  stateClientEvents,
} from "./state";
import {
  type ThreadReplies,
  type ThreadServerEvents,
  type ThreadSnapshot,
  threadClientEvents,
} from "./threads";

/**
 * Every room kind's events, by the kind's name in `/ws/<kind>/<id>`: the client events' zod
 * schemas (each room's command table takes its schemas from here), and the typed maps the SDK
 * reads: `ServerEvents[kind][event]` is the data of a server event, `ClientEvents[kind][event]`
 * what a client sends, `ClientReplies[kind][event]` the data of the reply.
 */
export const CLIENT_EVENTS = {
  poker: pokerClientEvents,
  threads: threadClientEvents,
  bus: busClientEvents,
  persons: stateClientEvents,
} satisfies Record<string, Record<string, z.ZodType>>;

export type RoomKindName = keyof typeof CLIENT_EVENTS;

/** What a client may send for each event: the schema's input (defaults may be left out). */
type InputsOf<T> = { [E in keyof T]: T[E] extends z.ZodType ? z.input<T[E]> : never };

/** Answered by the base room in every kind, before the kind's own commands. */
interface BaseClientEvents {
  auth: z.input<typeof AuthData>;
}

export type ClientEvents = {
  [K in RoomKindName]: InputsOf<(typeof CLIENT_EVENTS)[K]> & BaseClientEvents;
};

export interface ServerEvents {
  poker: PokerServerEvents & BaseServerEvents<PokerSnapshot>;
  threads: ThreadServerEvents & BaseServerEvents<ThreadSnapshot>;
  /** The bus keeps no state to resync: its `message` events resume by `last_message`. */
  bus: BusServerEvents & BaseServerEvents<Record<string, never>>;
  persons: StateServerEvents & BaseServerEvents<StateSnapshot>;
}

/** Reply data of the client events that answer with some (the others reply without `data`). */
export interface ClientReplies {
  poker: { auth: AuthReply };
  threads: ThreadReplies & { auth: AuthReply };
  bus: { auth: AuthReply };
  persons: StateReplies & { auth: AuthReply };
}
