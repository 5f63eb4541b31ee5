import { describe, expect, it } from "vitest";
import { failed, RoomQueue, succeeded } from "../../src/realtime/room-queue";

const tick = () => new Promise((r) => setTimeout(r, 0));

/** A job that runs until `release()` is called. */
function gate() {
  let release!: () => void;
  const open = new Promise<void>((r) => {
    release = r;
  });
  return { open, release };
}

describe("RoomQueue", () => {
  it("runs jobs one at a time, in order, even when one fails", async () => {
    const queue = new RoomQueue();
    const log: string[] = [];
    const first = gate();
    const a = queue.run(async () => {
      log.push("a start");
      await first.open;
      log.push("a end");
    });
    const b = queue.run(() => {
      log.push("b");
      throw new Error("b failed");
    });
    const c = queue.run(() => log.push("c"));
    await tick();
    expect(log).toEqual(["a start"]);
    first.release();
    await a;
    await expect(b).rejects.toThrow("b failed");
    await c;
    expect(log).toEqual(["a start", "a end", "b", "c"]);
  });

  it("runs calls of one key that queue up behind a job as one batch, each with its outcome", async () => {
    const queue = new RoomQueue();
    const busy = gate();
    queue.run(() => busy.open);
    const batches: number[][] = [];
    const handle = (items: number[]) => {
      batches.push(items);
      return items.map((n) => (n < 0 ? failed(new Error(`bad ${n}`)) : succeeded(n * 10)));
    };
    const results = [1, -2, 3].map((n) => queue.batch("k", n, handle));
    busy.release();
    expect(await results[0]).toBe(10);
    await expect(results[1]).rejects.toThrow("bad -2");
    expect(await results[2]).toBe(30);
    expect(batches).toEqual([[1, -2, 3]]);
  });

  it("never lets a batch run ahead of work queued before a later item", async () => {
    const queue = new RoomQueue();
    const busy = gate();
    queue.run(() => busy.open);
    const log: string[] = [];
    const handle = (items: string[]) => {
      log.push(items.join("+"));
      return items.map(() => succeeded(null));
    };
    const jobs = [
      queue.batch("vote", "v1", handle),
      queue.batch("vote", "v2", handle),
      queue.run(() => log.push("reset")),
      queue.batch("vote", "v3", handle),
      queue.batch("other", "o1", handle),
      queue.batch("vote", "v4", handle),
    ];
    busy.release();
    await Promise.all(jobs);
    expect(log).toEqual(["v1+v2", "reset", "v3", "o1", "v4"]);
  });

  it("starts a new batch for calls that arrive after the batch started", async () => {
    const queue = new RoomQueue();
    const running = gate();
    const started = gate();
    const log: string[][] = [];
    const first = queue.batch("k", "a", async (items) => {
      log.push(items);
      started.release();
      await running.open;
      return items.map(() => succeeded(null));
    });
    await started.open;
    const second = queue.batch("k", "b", (items) => {
      log.push(items);
      return items.map(() => succeeded(null));
    });
    running.release();
    await Promise.all([first, second]);
    expect(log).toEqual([["a"], ["b"]]);
  });

  it("gathers calls into an idle queue's batch while each event-loop turn brings more", async () => {
    const queue = new RoomQueue();
    const batches: string[][] = [];
    const handle = (items: string[]) => {
      batches.push(items);
      return items.map(() => succeeded(null));
    };
    const jobs = [queue.batch("vote", "a", handle)];
    await tick();
    jobs.push(queue.batch("vote", "b", handle));
    await tick();
    jobs.push(queue.batch("vote", "c", handle));
    await Promise.all(jobs);
    expect(batches).toEqual([["a", "b", "c"]]);
  });

  it("starts the batch after a turn without new calls, and within a bounded number of turns", async () => {
    const queue = new RoomQueue();
    const batches: number[][] = [];
    const handle = (items: number[]) => {
      batches.push(items);
      return items.map(() => succeeded(null));
    };
    const quiet = queue.batch("k", 0, handle);
    await tick();
    await tick();
    await quiet;
    expect(batches).toEqual([[0]]);
    // A call every turn, for longer than a batch gathers: the first batch does not wait for all.
    const stream: Promise<unknown>[] = [];
    for (let n = 1; n <= 30; n++) {
      stream.push(queue.batch("k", n, handle));
      await tick();
    }
    await Promise.all(stream);
    expect(batches.length).toBeGreaterThan(2);
    expect(batches[1]?.length).toBeLessThan(30);
    expect(batches.flat()).toEqual(Array.from({ length: 31 }, (_, n) => n));
  });

  it("fails every item of a batch whose handler throws, and keeps going", async () => {
    const queue = new RoomQueue();
    const busy = gate();
    queue.run(() => busy.open);
    const boom = () => {
      throw new Error("boom");
    };
    const a = queue.batch("k", 1, boom);
    const b = queue.batch("k", 2, boom);
    busy.release();
    await expect(a).rejects.toThrow("boom");
    await expect(b).rejects.toThrow("boom");
    expect(await queue.run(() => "after")).toBe("after");
  });
});
