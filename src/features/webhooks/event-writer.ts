import { getDb } from "../../platform/db";
import { logger } from "../../platform/log";
import { type PlainEvent, recordEvents } from "./queries";
import { enqueueDeliveries } from "./queue";

/** At most this many events share one D1 transaction (three statements for the group). */
const MAX_GROUP = 25;

interface Entry {
  event: PlainEvent;
  settled: boolean;
  error?: unknown;
}

/** The part of an `ExecutionContext` the writer uses. */
export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * Group commit for writes that are nothing but an event (an app's emit recorded before its 202):
 * events that arrive while a write is in flight are recorded together in the next D1 transaction
 * and enqueued with one `sendBatch`. Every D1 call costs a round trip, so concurrent emits share
 * one instead of queueing for one each. Each caller still resumes
 * only after its event and deliveries are committed. The next group is written by one of its
 * own callers, never by a request that has already answered.
 */
class EventWriter {
  private queued: Entry[] = [];
  private inFlight: Promise<void> | null = null;

  constructor(private readonly env: Env) {}

  async write(event: PlainEvent, ctx?: WaitUntil): Promise<void> {
    const entry: Entry = { event, settled: false };
    this.queued.push(entry);
    while (!entry.settled) {
      if (this.inFlight) {
        await this.inFlight;
        continue;
      }
      const group = this.queued.splice(0, MAX_GROUP);
      this.inFlight = this.flush(group).finally(() => {
        this.inFlight = null;
      });
      // Other callers wait on this write: it must finish even if this caller's client leaves.
      ctx?.waitUntil(this.inFlight);
      await this.inFlight;
    }
    if (entry.error !== undefined) throw entry.error;
  }

  /** Records and enqueues a group; never rejects (each entry carries its own error). */
  private async flush(group: Entry[]): Promise<void> {
    let ids: number[];
    try {
      ids = await recordEvents(
        getDb(this.env.DB),
        group.map((entry) => entry.event),
      );
    } catch (err) {
      if (group.length === 1) {
        settle(group, err);
        return;
      }
      // One event may be what failed (e.g. too large): write each alone so only it fails.
      for (const entry of group) await this.flush([entry]);
      return;
    }
    try {
      await enqueueDeliveries(this.env, ids);
    } catch (err) {
      const uuids = group.map((entry) => entry.event.uuid).join(", ");
      logger.error(`Webhook events ${uuids}: enqueueing failed, the cron scan will retry`, {
        event: "webhook.enqueue_failed",
        count: group.length,
        error: err,
      });
    }
    settle(group);
  }
}

function settle(group: Entry[], error?: unknown): void {
  for (const entry of group) {
    entry.settled = true;
    entry.error = error;
  }
}

/** One writer per database and queue (tests swap the queue), shared by every request. */
const writers = new WeakMap<D1Database, WeakMap<Queue, EventWriter>>();

/**
 * Records an event and its deliveries (grouped with concurrent callers'), then enqueues them.
 * Resolves once they are in D1; if enqueueing fails the cron scan sends them later.
 */
export function recordGrouped(env: Env, event: PlainEvent, ctx?: WaitUntil): Promise<void> {
  let byQueue = writers.get(env.DB);
  if (!byQueue) {
    byQueue = new WeakMap();
    writers.set(env.DB, byQueue);
  }
  let writer = byQueue.get(env.WEBHOOK_QUEUE);
  if (!writer) {
    writer = new EventWriter(env);
    byQueue.set(env.WEBHOOK_QUEUE, writer);
  }
  return writer.write(event, ctx);
}
