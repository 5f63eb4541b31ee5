import type { Cursor } from "./store";
import type { Delivery, PollAnswer } from "./wire";
import { answerOf, NOTHING } from "./wire";

interface Waiter {
  channels: ReadonlySet<string>;
  gap: boolean;
  settle(answer: PollAnswer): void;
}

/**
 * Long polls parked in a BusChannel until a message on one of their channels, their timeout,
 * or their client going away. In memory on purpose: a parked poll only exists while its
 * request does, and the messages it waits for are in storage, so an evicted object loses
 * nothing (the client polls again with the same `last_message`).
 */
export class Waiters {
  private readonly parked = new Set<Waiter>();

  get size(): number {
    return this.parked.size;
  }

  /** Parked polls that listen to `channel`. */
  listeningTo(channel: string): number {
    return [...this.parked].filter((w) => w.channels.has(channel)).length;
  }

  /**
   * Waits for the next message on `channels`; the caller has checked that none is stored after
   * the cursor yet, in the same synchronous step, so the next `offer` is exactly that message.
   */
  wait(
    channels: string[],
    cursor: Cursor,
    timeoutMs: number,
    signal: AbortSignal | null,
  ): Promise<PollAnswer> {
    return new Promise((resolve) => {
      const done = (answer: PollAnswer) => {
        if (!this.parked.delete(waiter)) return;
        clearTimeout(timer);
        signal?.removeEventListener("abort", abandon);
        resolve(answer);
      };
      const abandon = () => done(NOTHING);
      const waiter: Waiter = { channels: new Set(channels), gap: cursor.gap, settle: done };
      const timer = setTimeout(abandon, timeoutMs);
      this.parked.add(waiter);
      if (signal?.aborted) abandon();
      else signal?.addEventListener("abort", abandon);
    });
  }

  /** Answers every poll that listens to the delivery's channel; returns how many. */
  offer(delivery: Delivery): number {
    let answered = 0;
    for (const waiter of [...this.parked]) {
      if (!waiter.channels.has(delivery.channel)) continue;
      waiter.settle(answerOf(delivery, waiter.gap));
      answered += 1;
    }
    return answered;
  }
}
