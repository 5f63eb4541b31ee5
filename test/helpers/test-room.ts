import { z } from "zod";
import { badRequest, forbidden, notFound } from "../../src/platform/errors";
import { BaseRoom } from "../../src/realtime/base-room";
import type { Member } from "../../src/realtime/member";
import type { RoomKind } from "../../src/realtime/room-kind";
import { failed, succeeded } from "../../src/realtime/room-queue";

/**
 * A test-only room kind that exercises the base room: a durable counter, a stream event,
 * a permission-guarded event and a failing one.
 */
export class TestRoom extends BaseRoom {
  protected readonly commands = {
    echo: this.command({
      schema: z.object({ text: z.string() }).strict(),
      handle: ({ data }) => ({ text: data.text }),
    }),
    increment: this.command({
      schema: z.object({ by: z.number().int().min(1).max(100) }).strict(),
      handle: ({ data }) => {
        const count = this.count() + data.by;
        this.setMeta("count", String(count));
        this.publish("counted", { count });
        return { count };
      },
    }),
    shout: this.command({
      permission: "test.shout",
      schema: z.object({ text: z.string() }).strict(),
      handle: ({ data, ws }) => this.broadcast("shouted", { text: data.text }, ws),
    }),
    whisper: this.command({
      schema: z.object({ to: z.string(), text: z.string() }).strict(),
      handle: ({ data }) => {
        for (const ws of this.socketsTagged(`user:${data.to}`)) {
          this.send(ws, { event: "whispered", data: { text: data.text } });
        }
      },
    }),
    // Holds the room's queue for `ms`: what queues up behind it shows in the tests.
    pause: this.command({
      schema: z.object({ ms: z.number().int().min(0).max(2_000) }).strict(),
      handle: ({ data }) => new Promise((resolve) => setTimeout(() => resolve({}), data.ms)),
    }),
    // Pauses, then adds `text` to the socket's saved notes, as it read them when its turn came.
    note: this.command({
      schema: z.object({ text: z.string(), ms: z.number().int().min(0).max(2_000) }).strict(),
      handle: async ({ ws, member, data }) => {
        this.send(ws, { event: "noting", data: { text: data.text } });
        await new Promise((resolve) => setTimeout(resolve, data.ms));
        const notes = [...((member.state.notes as string[] | undefined) ?? []), data.text];
        this.saveMember(ws, { ...member, state: { ...member.state, notes } });
        return { notes };
      },
    }),
    status: this.command({
      schema: z.object({}).strict(),
      concurrent: true,
      handle: () => ({ count: this.count() }),
    }),
    // Adds every frame of a batch at once; a negative amount fails only its own frame.
    tally: this.batchCommand({
      schema: z.object({ by: z.number().int() }).strict(),
      handleBatch: async (frames) => {
        const outcomes = frames.map(({ data }) =>
          data.by < 0 ? failed(badRequest("negative", { by: ["must be >= 0"] })) : succeeded(null),
        );
        const added = frames.reduce((sum, { data }) => sum + Math.max(0, data.by), 0);
        const count = this.count() + added;
        this.setMeta("count", String(count));
        this.publish("tallied", { count, frames: frames.length });
        return outcomes.map((o) => (o.ok ? succeeded({ count }) : o));
      },
    }),
    // Never runs: the base room answers `auth` (the token refresh) before any room's commands.
    auth: this.command({ schema: z.unknown(), handle: () => ({ shadowed: true }) }),
    conflict: this.command({
      schema: z.object({}).strict(),
      handle: () => {
        throw forbidden("never allowed");
      },
    }),
  };

  protected override shardNamespace() {
    return this.env.TEST_ROOM;
  }

  protected override socketTags(member: Member): string[] {
    return member.userId ? [`user:${member.userId}`] : [];
  }

  private count(): number {
    return Number(this.meta("count") ?? 0);
  }

  protected override snapshot() {
    return { count: this.count() };
  }

  protected override onJoin(ws: WebSocket) {
    this.send(ws, { event: "welcome", data: { count: this.count() } });
  }
}

/** ids starting with `missing` do not exist; `private-*` rooms need `test.enter`. */
export const testKind: RoomKind = {
  stub: (env, id) => env.TEST_ROOM.get(env.TEST_ROOM.idFromName(id)),
  admit: async (_env, id, caller) => {
    if (id.startsWith("missing")) throw notFound("Room");
    if (
      id.startsWith("private") &&
      !(
        caller.kind === "admin" ||
        (caller.kind === "user" && caller.permissions.includes("test.enter"))
      )
    ) {
      throw forbidden("This room needs 'test.enter'");
    }
  },
};
