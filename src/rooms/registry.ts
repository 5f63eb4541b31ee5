import { busKind } from "./bus-channel";
import { personKind } from "./person-room";
import { pokerKind } from "./poker-room";
import type { RoomKinds } from "./room-kind";
import { threadKind } from "./thread-room";

/** Every room kind reachable as `/ws/<kind>/<id>`. */
export const ROOM_KINDS: RoomKinds = {
  poker: pokerKind,
  threads: threadKind,
  bus: busKind,
  persons: personKind,
};
