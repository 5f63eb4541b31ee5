/** What a delivery message carries: only the id; everything else is read from D1. */
export interface DeliveryMessage {
  delivery_id: number;
}

/** The longest delay a Queue accepts (12 h); longer waits are reached by re-enqueueing. */
export const MAX_QUEUE_DELAY_SECONDS = 43_200;

const SEND_BATCH_LIMIT = 100;

/**
 * What an app's emit without an ordering key queues: the event itself, recorded in D1 by the
 * consumer (`intake.ts`). A Queue message is durable, so the 202 may follow the send.
 */
export interface EventMessage {
  event: { uuid: string; event_type: string; data: string; only_owner: string | null };
}

/** A Queue message holds at most 128 KB; a bigger event is recorded in D1 before the 202. */
const MAX_EVENT_MESSAGE_BYTES = 120_000;

/** Whether an event's data (JSON) fits in an `EventMessage`, with room for the rest. */
export function fitsInMessage(data: string): boolean {
  // A UTF-16 unit is at most 3 bytes of UTF-8: most data never needs encoding to tell.
  if (data.length * 3 <= MAX_EVENT_MESSAGE_BYTES) return true;
  return new TextEncoder().encode(data).byteLength <= MAX_EVENT_MESSAGE_BYTES;
}

export function isEventMessage(body: unknown): body is EventMessage {
  const event = (body as EventMessage | null)?.event;
  return (
    typeof event === "object" &&
    event !== null &&
    typeof event.uuid === "string" &&
    typeof event.event_type === "string" &&
    typeof event.data === "string"
  );
}

export function isDeliveryMessage(body: unknown): body is DeliveryMessage {
  return (
    typeof body === "object" &&
    body !== null &&
    Number.isSafeInteger((body as DeliveryMessage).delivery_id)
  );
}

export async function enqueueDeliveries(env: Env, ids: number[], delaySeconds = 0): Promise<void> {
  for (let i = 0; i < ids.length; i += SEND_BATCH_LIMIT) {
    await env.WEBHOOK_QUEUE.sendBatch(
      ids.slice(i, i + SEND_BATCH_LIMIT).map((id) => ({
        body: { delivery_id: id } satisfies DeliveryMessage,
        delaySeconds: Math.min(delaySeconds, MAX_QUEUE_DELAY_SECONDS),
      })),
    );
  }
}

/** Sends one message per delivery, each with its own delay (e.g. to its pacing slot). */
export async function enqueueEach(
  env: Env,
  deliveries: { id: number; delaySeconds: number }[],
): Promise<void> {
  for (let i = 0; i < deliveries.length; i += SEND_BATCH_LIMIT) {
    await env.WEBHOOK_QUEUE.sendBatch(
      deliveries.slice(i, i + SEND_BATCH_LIMIT).map(({ id, delaySeconds }) => ({
        body: { delivery_id: id } satisfies DeliveryMessage,
        delaySeconds: Math.min(delaySeconds, MAX_QUEUE_DELAY_SECONDS),
      })),
    );
  }
}
