import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CLIENT_EVENTS, type RoomKindName } from "../../src/protocol";
import type { CommandTable } from "../../src/realtime/commands";
import { ROOM_KINDS } from "../../src/rooms";

/** The command table of a fresh room of `kind`, as the room holds it. */
async function commandsOf(kind: RoomKindName): Promise<CommandTable<unknown>> {
  const roomKind = ROOM_KINDS[kind];
  if (!roomKind) throw new Error(`no room kind '${kind}' is served`);
  const stub = roomKind.stub(env, `events-${crypto.randomUUID()}`);
  return runInDurableObject(
    stub as unknown as DurableObjectStub,
    (room) => (room as unknown as { commands: CommandTable<unknown> }).commands,
  );
}

describe("the protocol module's event map and the rooms' command tables", () => {
  it("lists exactly the room kinds that are served", () => {
    expect(Object.keys(CLIENT_EVENTS).sort()).toEqual(Object.keys(ROOM_KINDS).sort());
  });

  it.each(Object.keys(CLIENT_EVENTS) as RoomKindName[])(
    "%s: every command is in the map and every mapped client event is a command",
    async (kind) => {
      const commands = await commandsOf(kind);
      expect(Object.keys(commands).sort()).toEqual(Object.keys(CLIENT_EVENTS[kind]).sort());
    },
  );

  it.each(["poker", "threads"] as const)(
    "%s: each command validates with the protocol's schema itself (one definition)",
    async (kind) => {
      const commands = await commandsOf(kind);
      const schemas: Record<string, unknown> = CLIENT_EVENTS[kind];
      for (const [event, command] of Object.entries(commands)) {
        expect(command.schema, event).toBe(schemas[event]);
      }
    },
  );
});
