import { describe, expect, it } from "vitest";
import { GroupCommit } from "../../src/realtime/group-commit";
import { failed, succeeded } from "../../src/realtime/room-queue";

/** A commit that completes when the test says so. */
function commits() {
  const waiting: (() => void)[] = [];
  return {
    committed: () => new Promise<void>((resolve) => waiting.push(resolve)),
    finish: () => waiting.shift()?.(),
    get inFlight() {
      return waiting.length;
    },
  };
}

describe("GroupCommit", () => {
  it("runs an item at once when nothing is in flight, and groups what arrives during the commit", async () => {
    const groups: number[][] = [];
    const commit = commits();
    const group = new GroupCommit<number, number>((items) => {
      groups.push(items);
      return items.map((n) => (n < 0 ? failed(new Error(`bad ${n}`)) : succeeded(n * 2)));
    }, commit.committed);

    const first = group.add(1);
    expect(groups).toEqual([[1]]);
    const later = [2, -3, 4].map((n) => group.add(n));
    expect(groups).toEqual([[1]]);
    expect(await first).toBe(2);

    commit.finish();
    expect(await later[0]).toBe(4);
    await expect(later[1]).rejects.toThrow("bad -3");
    expect(await later[2]).toBe(8);
    expect(groups).toEqual([[1], [2, -3, 4]]);

    commit.finish();
    await Promise.resolve();
    expect(commit.inFlight).toBe(0);
    expect(await group.add(5)).toBe(10);
    expect(groups).toEqual([[1], [2, -3, 4], [5]]);
  });

  it("fails every item of a group whose run throws; the next group runs", async () => {
    let fail = true;
    const group = new GroupCommit<string, string>(
      (items) => {
        if (fail) throw new Error("storage");
        return items.map(succeeded);
      },
      () => Promise.resolve(),
    );
    await expect(group.add("a")).rejects.toThrow("storage");
    fail = false;
    await new Promise((r) => setTimeout(r, 0));
    expect(await group.add("c")).toBe("c");
  });

  it("keeps grouping after a failed commit wait", async () => {
    const groups: string[][] = [];
    const group = new GroupCommit<string, string>(
      (items) => {
        groups.push(items);
        return items.map(succeeded);
      },
      () => Promise.reject(new Error("sync failed")),
    );
    const a = group.add("a");
    const b = group.add("b");
    expect(await a).toBe("a");
    expect(await b).toBe("b");
    expect(groups).toEqual([["a"], ["b"]]);
  });
});
