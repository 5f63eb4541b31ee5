import { notFound } from "../errors";
import { BaseRoom } from "./base-room";
import type { CommandTable } from "./commands";
import type { RoomKind } from "./room-kind";

export class PokerRoom extends BaseRoom {
  protected readonly commands: CommandTable<Record<string, unknown>> = {};
}

export const pokerKind: RoomKind = {
  stub: (env, id) => env.POKER_ROOM.get(env.POKER_ROOM.idFromName(id)),
  admit: async () => {
    throw notFound("Room");
  },
};
