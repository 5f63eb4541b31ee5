/** What a delivery message carries: only the id; everything else is read from D1. */
export interface DeliveryMessage {
  delivery_id: number;
}

/** The longest delay a Queue accepts (12 h); longer waits are reached by re-enqueueing. */
export const MAX_QUEUE_DELAY_SECONDS = 43_200;

const SEND_BATCH_LIMIT = 100;

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
