import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { EventStream, STREAM_KEEP_EVENTS } from "../../src/realtime/event-stream";
import { tokenFor } from "../helpers/http";
import { connect } from "../helpers/ws";

/**
 * Room retention (contract §2): a room keeps at least the last 1,000 events or the last 24 h,
 * whichever is more; the alarm prunes the rest, and a resume from before what is kept gets
 * `resync`. Exercised on the test room kind (every room kind shares the base room's stream).
 */

const EXTRA = 100;

afterEach(() => vi.useRealTimers());

async function fill(id: string, count: number): Promise<void> {
  const stub = env.TEST_ROOM.get(env.TEST_ROOM.idFromName(id));
  await runInDurableObject(stub, (_instance: unknown, state) => {
    const stream = new EventStream(state.storage.sql);
    for (let i = 1; i <= count; i++) stream.append("counted", { count: i });
  });
}

async function prune(id: string): Promise<void> {
  const stub = env.TEST_ROOM.get(env.TEST_ROOM.idFromName(id));
  await runInDurableObject(stub, (_instance: unknown, state) =>
    state.storage.setAlarm(Date.now() + 3_600_000),
  );
  expect(await runDurableObjectAlarm(stub)).toBe(true);
}

async function replayFrom(id: string, since: number, token: string, expected: number) {
  const ws = await connect(`/ws/test/${id}?since=${since}`, token);
  await ws.event("welcome", 5_000);
  const deadline = Date.now() + 5_000;
  while (ws.frames.filter((f) => f?.seq !== undefined).length < expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  ws.close();
  return ws.frames.filter((f) => f?.seq !== undefined);
}

describe("retention of a room's ordered stream", () => {
  it("keeps everything younger than 24 h, even beyond 1,000 events", async () => {
    const id = `retain-${crypto.randomUUID()}`;
    const token = await tokenFor("keeper");
    const total = STREAM_KEEP_EVENTS + EXTRA;
    await fill(id, total);
    await prune(id);
    const replay = await replayFrom(id, 0, token, total);
    expect(replay.map((f) => f.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  });

  it("keeps the last 1,000 once older than 24 h; older resumes get resync", async () => {
    const id = `retain-${crypto.randomUUID()}`;
    const token = await tokenFor("keeper");
    const total = STREAM_KEEP_EVENTS + EXTRA;
    await fill(id, total);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 25 * 60 * 60 * 1000);
    await prune(id);
    vi.useRealTimers();

    const kept = await replayFrom(id, EXTRA, token, STREAM_KEEP_EVENTS);
    expect(kept).toHaveLength(STREAM_KEEP_EVENTS);
    expect(kept[0]).toEqual({ event: "counted", data: { count: EXTRA + 1 }, seq: EXTRA + 1 });
    expect(kept.at(-1)?.seq).toBe(total);

    const [resync] = await replayFrom(id, EXTRA - 1, token, 1);
    expect(resync).toMatchObject({ event: "resync", seq: total });
  });
});
