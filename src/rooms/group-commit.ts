import type { Outcome } from "./room-queue";

interface Waiting<T, R> {
  item: T;
  resolve(value: R): void;
  reject(error: unknown): void;
}

/**
 * Runs the items that arrive before the next macrotask together, in arrival order.
 *
 * A Durable Object commits its SQLite writes after each turn of its event loop, and a write
 * waits for the previous commit: one write per turn caps a room at one commit per item. Calls
 * that queue up while a commit is in flight land in the same turn here, so they share one.
 */
export class GroupCommit<T, R> {
  private pending: Waiting<T, R>[] = [];

  constructor(private readonly run: (items: T[]) => Outcome<R>[]) {}

  add(item: T): Promise<R> {
    const result = new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
    });
    if (this.pending.length === 1) setTimeout(() => this.flush(), 0);
    return result;
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
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
