import type { Db } from "../../platform/db";
import { type PlainEvent, recordEvents, unattemptedDeliveryIds } from "./queries";
import {
  type DeliveryMessage,
  type EventMessage,
  enqueueEach,
  MAX_QUEUE_DELAY_SECONDS,
} from "./queue";

/**
 * The consumer's side of a queued emit (`EventMessage`): records the batch's events with their
 * deliveries (idempotent by uuid; one transaction unless their data are large), then hands every delivery of theirs never
 * attempted to the batch's own delivery pass as a stand-in message, so an event costs one Queue
 * hop, not two. A stand-in's ack is nothing (its event message is acked once the pass is done);
 * its retry becomes a fresh delivery message with that delay, sent by `finish`. A crash before
 * `finish` retries the event messages: their events are recorded already, and only the
 * deliveries still never attempted are taken again (the cron scan retakes a lapsed claim).
 */
export async function takeInEvents(
  db: Db,
  messages: Message<EventMessage>[],
): Promise<{ deliveries: Message<DeliveryMessage>[]; finish: (env: Env) => Promise<void> }> {
  const events: PlainEvent[] = messages.map(({ body: { event } }) => ({
    uuid: event.uuid,
    eventType: event.event_type,
    data: event.data,
    onlyOwner: event.only_owner ?? undefined,
  }));
  for (const chunk of byDataSize(events)) await recordEvents(db, chunk);
  const ids = await unattemptedDeliveryIds(
    db,
    events.map((e) => e.uuid),
  );
  const retries: { id: number; delaySeconds: number }[] = [];
  const deliveries = ids.map((id) => standIn(id, retries));
  return {
    deliveries,
    async finish(env) {
      await enqueueEach(env, retries);
      for (const message of messages) message.ack();
    },
  };
}

/**
 * D1 refuses a string over 2 MB, and a chunk's data travel as one JSON parameter: a batch of 100
 * events of up to 120 KB each is recorded in several transactions of at most this many UTF-16
 * units of data (at most 3 bytes of UTF-8 each).
 */
const MAX_CHUNK_DATA = 600_000;

function byDataSize(events: PlainEvent[]): PlainEvent[][] {
  const chunks: PlainEvent[][] = [];
  let size = Number.POSITIVE_INFINITY;
  for (const event of events) {
    if (size + event.data.length > MAX_CHUNK_DATA) {
      chunks.push([]);
      size = 0;
    }
    chunks.at(-1)?.push(event);
    size += event.data.length;
  }
  return chunks;
}

function standIn(id: number, retries: { id: number; delaySeconds: number }[]) {
  const message: Message<DeliveryMessage> = {
    id: `delivery-${id}`,
    timestamp: new Date(),
    attempts: 1,
    body: { delivery_id: id },
    ack() {},
    retry(options) {
      retries.push({
        id,
        delaySeconds: Math.min(options?.delaySeconds ?? 0, MAX_QUEUE_DELAY_SECONDS),
      });
    },
  };
  return message;
}
