import { describe, expect, it } from "vitest";
import { scriptedThreads } from "../../../src/features/scripted";
import { extendThreads, scheduledRestarts } from "../../../src/features/threads";
import "../../../src/rooms";

/** Scripted conversations reach threads through the composition root, not an import in the room. */
describe("thread extensions", () => {
  it("are registered by src/rooms.ts: the scripted repeats are the room's scheduled work", () => {
    expect(scheduledRestarts()).toBe(scriptedThreads.restarts);
  });

  it("ignore a second registration of the same extension", () => {
    expect(() => extendThreads(scriptedThreads)).not.toThrow();
    expect(scheduledRestarts()).toBe(scriptedThreads.restarts);
  });

  it("take one scheduled-restarts extension", () => {
    const other = { ...scriptedThreads, hooks: {} };
    expect(() => extendThreads(other)).toThrow(/one scheduled-restarts extension/);
    expect(scheduledRestarts()).toBe(scriptedThreads.restarts);
  });
});
