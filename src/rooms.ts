import { busKind } from "./features/bus/bus-channel";
import { pokerKind } from "./features/poker/poker-room";
import { personKind } from "./features/state/person-room";
import { threadKind } from "./features/threads/thread-room";
import type { RoomKinds } from "./realtime/room-kind";

/** Every room kind reachable as `/ws/<kind>/<id>`. */
export const ROOM_KINDS: RoomKinds = {
  poker: pokerKind,
  threads: threadKind,
  bus: busKind,
  persons: personKind,
};
