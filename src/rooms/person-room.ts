import { notFound } from "../errors";
import { BaseRoom } from "./base-room";
import type { CommandTable } from "./commands";
import type { RoomKind } from "./room-kind";

export class PersonRoom extends BaseRoom {
  protected readonly commands: CommandTable<Record<string, unknown>> = {};
}

export const personKind: RoomKind = {
  stub: (env, id) => env.PERSON_ROOM.get(env.PERSON_ROOM.idFromName(id)),
  admit: async () => {
    throw notFound("Room");
  },
};
