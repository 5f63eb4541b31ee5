import { notFound } from "../errors";
import { BaseRoom } from "./base-room";
import type { CommandTable } from "./commands";
import type { RoomKind } from "./room-kind";

export class BusChannel extends BaseRoom {
  protected readonly commands: CommandTable<Record<string, unknown>> = {};
}

export const busKind: RoomKind = {
  stub: (env, id) => env.BUS_CHANNEL.get(env.BUS_CHANNEL.idFromName(id)),
  admit: async () => {
    throw notFound("Room");
  },
};
