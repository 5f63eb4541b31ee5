/** The result of one item of a batch: its value, or the error its caller gets. */
export type Outcome<R = unknown> = { ok: true; value: R } | { ok: false; error: unknown };

export const succeeded = <R>(value: R): Outcome<R> => ({ ok: true, value });
export const failed = (error: unknown): Outcome<never> => ({ ok: false, error });

/**
 * The most event-loop turns a starting batch waits for more items. A turn costs a quiet room
 * well under a millisecond; the cap keeps a steady stream of items from holding a batch open.
 */
const GATHER_TURNS = 8;

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

interface Waiting<T, R> {
  item: T;
  resolve(value: R): void;
  reject(error: unknown): void;
}

interface OpenBatch {
  key: string;
  // biome-ignore lint/suspicious/noExplicitAny: batches of different item types share the slot.
  waiting: Waiting<any, any>[];
}

/**
 * A room's one-at-a-time queue: every change runs after the previous one has finished.
 *
 * `batch` lets work of one kind that queues up while the room is busy (votes behind a D1 write,
 * joins behind a join) run as one job: a call joins the batch queued last if it has the same key
 * and has not started yet, so nothing ever runs before work that was queued ahead of it. A batch
 * starts once an event-loop turn brought no new item (at most GATHER_TURNS turns), so calls that
 * arrive together share it even when the room was idle.
 */
export class RoomQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private open: OpenBatch | null = null;

  run<T>(fn: () => T | Promise<T>): Promise<T> {
    this.open = null;
    const job = this.tail.then(fn, fn);
    this.tail = job.catch(() => undefined);
    return job;
  }

  /**
   * Queues `item`; `handle` receives every item of the batch, in arrival order, and returns one
   * outcome per item. A throw from `handle` fails every item of the batch.
   */
  batch<T, R>(
    key: string,
    item: T,
    handle: (items: T[]) => Promise<Outcome<R>[]> | Outcome<R>[],
  ): Promise<R> {
    const joined = this.open?.key === key ? this.open : null;
    const batch: OpenBatch = joined ?? { key, waiting: [] };
    const result = new Promise<R>((resolve, reject) => {
      batch.waiting.push({ item, resolve, reject });
    });
    if (joined) return result;
    this.run(async () => {
      // Frames sent together reach the room over several event-loop turns (socket reads come in
      // groups): while a turn brings more items, they join, so a room voting at once is one write.
      for (let seen = 0, turns = 0; turns < GATHER_TURNS; turns++) {
        if (this.open !== batch || batch.waiting.length === seen) break;
        seen = batch.waiting.length;
        await nextTurn();
      }
      if (this.open === batch) this.open = null;
      const waiting = batch.waiting as Waiting<T, R>[];
      try {
        const outcomes = await handle(waiting.map((w) => w.item));
        waiting.forEach((w, i) => {
          const outcome = outcomes[i];
          if (!outcome) w.reject(new Error(`Batch '${key}' gave no outcome for item ${i}`));
          else if (outcome.ok) w.resolve(outcome.value);
          else w.reject(outcome.error);
        });
      } catch (err) {
        for (const w of waiting) w.reject(err);
      }
    });
    this.open = batch;
    return result;
  }
}
