import { busKind } from "./features/bus/bus-channel";
import { pokerKind } from "./features/poker/poker-room";
import { scriptedThreads } from "./features/scripted";
import { personKind } from "./features/state/person-room";
import { extendThreads } from "./features/threads";
import { threadKind } from "./features/threads/thread-room";
import { recordRoomLifecycle } from "./features/webhooks";
import { recordRoomLifecycleWith } from "./realtime/presence";
import type { RoomKinds } from "./realtime/room-kind";

// Automated conversations plug into threads here, not by an import inside the thread room:
// every Worker and Durable Object loads this module (src/index.ts) before a room runs.
extendThreads(scriptedThreads);
// Rooms announce `room.occupied`/`room.vacated` through the webhooks outbox, which realtime may
// not import.
recordRoomLifecycleWith(recordRoomLifecycle);

/** Every room kind reachable as `/ws/<kind>/<id>`. */
export const ROOM_KINDS: RoomKinds = {
  poker: pokerKind,
  threads: threadKind,
  bus: busKind,
  persons: personKind,
};
