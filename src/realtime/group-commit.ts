import type { Outcome } from "./room-queue";

interface Waiting<T, R> {
  item: T;
  resolve(value: R): void;
  reject(error: unknown): void;
}

/**
 * Group commit: an item that arrives while the previous group's commit is in flight waits for
 * it, and everything that waited runs together, in arrival order, as the next group.
 *
 * A Durable Object's SQLite write waits for the previous commit, so one write per call caps a
 * room at one item per commit. An item arriving when nothing is in flight runs at once: grouping
 * costs no latency when the room is quiet.
 */
export class GroupCommit<T, R> {
  private pending: Waiting<T, R>[] = [];
  private committing = false;

  /**
   * `run` stores a group (synchronously, one outcome per item); `committed` resolves when what
   * it stored is durable (`ctx.storage.sync()`).
   */
  constructor(
    private readonly run: (items: T[]) => Outcome<R>[],
    private readonly committed: () => Promise<void>,
  ) {}

  add(item: T): Promise<R> {
    const result = new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
    });
    if (!this.committing) this.flush();
    return result;
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    this.settle(batch);
    this.committing = true;
    const next = () => {
      this.committing = false;
      if (this.pending.length) this.flush();
    };
    this.committed().then(next, next);
  }

  private settle(batch: Waiting<T, R>[]): void {
    let outcomes: Outcome<R>[];
    try {
      outcomes = this.run(batch.map((w) => w.item));
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    batch.forEach((w, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) w.resolve(outcome.value);
      else w.reject(outcome ? outcome.error : new Error("No outcome for a grouped item"));
    });
  }
}
