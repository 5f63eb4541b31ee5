import { notFound } from "../errors";
import { BaseRoom } from "./base-room";
import type { CommandTable } from "./commands";
import type { RoomKind } from "./room-kind";

export class ThreadRoom extends BaseRoom {
  protected readonly commands: CommandTable<Record<string, unknown>> = {};
}

export const threadKind: RoomKind = {
  stub: (env, id) => env.THREAD_ROOM.get(env.THREAD_ROOM.idFromName(id)),
  admit: async () => {
    throw notFound("Room");
  },
};
