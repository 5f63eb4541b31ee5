import { describe, expect, it } from "vitest";
import { GroupCommit } from "../src/rooms/group-commit";
import { failed, succeeded } from "../src/rooms/room-queue";

describe("GroupCommit", () => {
  it("runs the items added in one turn as one group, in order, each with its outcome", async () => {
    const groups: number[][] = [];
    const group = new GroupCommit<number, number>((items) => {
      groups.push(items);
      return items.map((n) => (n < 0 ? failed(new Error(`bad ${n}`)) : succeeded(n * 2)));
    });
    const first = [1, -1, 3].map((n) => group.add(n));
    expect(await first[0]).toBe(2);
    await expect(first[1]).rejects.toThrow("bad -1");
    expect(await first[2]).toBe(6);
    expect(await group.add(4)).toBe(8);
    expect(groups).toEqual([[1, -1, 3], [4]]);
  });

  it("fails every item of a group whose run throws; the next group runs", async () => {
    let fail = true;
    const group = new GroupCommit<string, string>((items) => {
      if (fail) throw new Error("storage");
      return items.map(succeeded);
    });
    const a = group.add("a");
    const b = group.add("b");
    await expect(a).rejects.toThrow("storage");
    await expect(b).rejects.toThrow("storage");
    fail = false;
    expect(await group.add("c")).toBe("c");
  });
});
