import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type BusChannel, busStub } from "../../../src/features/bus/bus-channel";
import { KEEP_MS, KEEP_PER_CHANNEL } from "../../../src/features/bus/store";
import { newDb, poll } from "../../helpers/bus";
import { ADMIN } from "../../helpers/http";

afterEach(() => {
  vi.useRealTimers();
});

describe("bus retention", () => {
  it("keeps the last 1,000 per channel or 24 h, prunes by alarm, and reports gaps precisely", async () => {
    const db = newDb();
    const stub = busStub(env, db);
    const quiet = [
      await stub.publishMessage(db, "quiet", { type: "q", n: 0 }),
      await stub.publishMessage(db, "quiet", { type: "q", n: 1 }),
    ].map((r) => r.message_id);
    const busy = await runInDurableObject(stub, async (bus: BusChannel) => {
      const ids: string[] = [];
      for (let n = 0; n < KEEP_PER_CHANNEL + 5; n++) {
        ids.push((await bus.publishMessage(db, "busy", { type: "b", n })).message_id);
      }
      return ids;
    });
    const nextAfter = (last: string, channels: string[]) =>
      poll(db, ADMIN, { last_message: last, channels }).then((r) => r.body);

    // Younger than a day: nothing goes, even beyond 1,000 messages.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await nextAfter(busy[0] as string, ["busy"])).message.message_id).toBe(busy[1]);

    vi.setSystemTime(Date.now() + KEEP_MS + 60_000);
    await runDurableObjectAlarm(stub);

    // The five oldest of `busy` are gone; a cursor before them reports the gap.
    const lost = await nextAfter(busy[1] as string, ["busy"]);
    expect(lost.gap).toBe(true);
    expect(lost.message).toEqual({ message_id: busy[5], type: "b", n: 5 });
    // The last pruned message is still a valid cursor: nothing after it was lost.
    const exact = await nextAfter(busy[4] as string, ["busy"]);
    expect(exact.gap).toBeUndefined();
    expect(exact.message.message_id).toBe(busy[5]);
    // Old but few: `quiet` keeps everything, and a pruned id is a fine cursor for it.
    expect(await nextAfter(quiet[0] as string, ["quiet"])).toEqual({
      channel: "quiet",
      message: { message_id: quiet[1], type: "q", n: 1 },
    });
    expect((await nextAfter(busy[0] as string, ["quiet"])).message).toBeNull();
  });
});
