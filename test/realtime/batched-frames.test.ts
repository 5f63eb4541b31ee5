import { describe, expect, it } from "vitest";
import { packFrames } from "../../src/protocol/batched-frames";
import { tokenFor } from "../helpers/http";
import { connect } from "../helpers/ws";

/** Frames as received: a coalesced frame stays a string (TestSocket parses objects only). */
const arrays = (frames: unknown[]) =>
  frames.filter((f): f is string => typeof f === "string" && f.startsWith("["));

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("?batch=1: one delivery pass, one frame", () => {
  it("a resume replay reaches a ?batch=1 socket as one array, in order; others get single frames", async () => {
    const room = crypto.randomUUID();
    const token = await tokenFor("batch-1");
    const writer = await connect(`/ws/test/${room}`, token);
    for (let i = 0; i < 3; i++) await writer.request("increment", { by: 1 });
    const batched = await connect(`/ws/test/${room}?since=0&batch=1`, token);
    const plain = await connect(`/ws/test/${room}?since=0`, token);
    await until(() => arrays(batched.frames).length === 1, "the replay array");
    const replay = JSON.parse(arrays(batched.frames)[0] as string);
    expect(replay.map((f: any) => [f.event, f.seq])).toEqual([
      ["counted", 1],
      ["counted", 2],
      ["counted", 3],
    ]);
    await until(() => plain.frames.filter((f) => f?.event === "counted").length === 3, "replay");
    expect(plain.frames.filter((f) => f?.event === "counted").map((f) => f.seq)).toEqual([1, 2, 3]);
    expect(arrays(plain.frames)).toEqual([]);

    // A pass with one frame sends the plain object, to the flagged socket too.
    await writer.request("increment", { by: 1 });
    const live = await batched.event("counted");
    expect(live.seq).toBe(4);
    expect(arrays(batched.frames)).toHaveLength(1);
    for (const ws of [writer, batched, plain]) ws.close();
  });

  it("a flag other than 1 changes nothing", async () => {
    const room = crypto.randomUUID();
    const token = await tokenFor("batch-2");
    const writer = await connect(`/ws/test/${room}`, token);
    await writer.request("increment", { by: 1 });
    await writer.request("increment", { by: 1 });
    const other = await connect(`/ws/test/${room}?since=0&batch=yes`, token);
    await until(() => other.frames.filter((f) => f?.event === "counted").length === 2, "replay");
    expect(arrays(other.frames)).toEqual([]);
    writer.close();
    other.close();
  });
});

describe("packFrames", () => {
  it("leaves one frame alone, joins several into an array, and splits very long passes", () => {
    expect(packFrames(['{"a":1}'])).toEqual(['{"a":1}']);
    expect(packFrames(['{"a":1}', '{"b":2}'])).toEqual(['[{"a":1},{"b":2}]']);
    const big = `{"x":"${"y".repeat(300_000)}"}`;
    const packed = packFrames([big, big, '{"z":1}']);
    expect(packed).toEqual([big, `[${big},{"z":1}]`]);
    expect(
      packed.flatMap((t) => (t.startsWith("[") ? JSON.parse(t) : [JSON.parse(t)])),
    ).toHaveLength(3);
  });
});
