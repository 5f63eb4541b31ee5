import type { Db } from "../../platform/db";
import { logger } from "../../platform/log";
import * as time from "../../platform/time";
import { type Claimed, claimAttempts, type DeliveryRow, type WebhookRow } from "./queries";
import { type DeliveryMessage, enqueueDeliveries, enqueueEach } from "./queue";

/**
 * The consumer's claim step, with what pacing and ordering add to it (docs/webhooks-ordering.md):
 * claim, defer to a later slot, or leave waiting in D1; and, after the outcomes, send the new
 * heads of ordering keys.
 */

/** A due delivery with its message, as the consumer has it. */
interface DueDelivery {
  message: Message<DeliveryMessage>;
  delivery: DeliveryRow;
  hook: WebhookRow;
}

/**
 * Claims the due deliveries in one transaction. A message whose claim was lost is acked: another
 * consumer took the delivery, or an ordered delivery waits in D1 behind its key's head (which
 * sends it on closing). A paced delivery without a slot goes back to the Queue for its slot.
 * Returns the claimed ones with their slots (null when unpaced), in order.
 */
export async function claimDue<D extends DueDelivery>(
  env: Env,
  db: Db,
  due: D[],
  settled: Set<Message<DeliveryMessage>>,
  { dueBy, leaseUntil }: { dueBy: number; leaseUntil: number },
): Promise<{ claimed: D[]; slots: Claimed["slots"]; pacedHooks: Set<string> }> {
  const pacedHooks = new Set(due.filter((d) => d.hook.pace !== null).map((d) => d.hook.id));
  const counts = new Map<string, number>();
  // Slots count from when the claim is sent, not from when the batch began.
  const now = time.now();
  const result = await claimAttempts(
    db,
    due.map(({ delivery, hook }) => {
      const index = counts.get(hook.id) ?? 0;
      if (pacedHooks.has(hook.id)) counts.set(hook.id, index + 1);
      return { delivery, paced: pacedHooks.has(hook.id) ? { index } : undefined };
    }),
    { dueBy, leaseUntil },
    now,
  );
  const deferred: { id: number; delaySeconds: number }[] = [];
  const claimed: D[] = [];
  const slots: Claimed["slots"] = [];
  due.forEach((d, i) => {
    if (result.won[i]) {
      claimed.push(d);
      slots.push(result.slots[i] ?? null);
      return;
    }
    const at = result.deferredTo[i];
    if (at) {
      deferred.push({ id: d.delivery.id, delaySeconds: Math.max(1, Math.ceil((at - now) / 1000)) });
    }
  });
  const sent = await enqueueEach(env, deferred).then(
    () => true,
    (err) => {
      logger.warn("Webhook queue: re-enqueueing paced deliveries failed; retrying their messages", {
        event: "webhook.pace_enqueue_failed",
        count: deferred.length,
        error: err,
      });
      return false;
    },
  );
  const delays = new Map(deferred.map((d) => [d.id, d.delaySeconds]));
  const won = new Set(claimed);
  for (const d of due) {
    if (won.has(d)) continue;
    const delaySeconds = delays.get(d.delivery.id);
    // A fresh message, not a retry: waiting for a slot must not count towards the dead letters.
    if (sent || delaySeconds === undefined) d.message.ack();
    else d.message.retry({ delaySeconds });
    settled.add(d.message);
  }
  return { claimed, slots, pacedHooks };
}

/** Sends the new heads of ordering keys at once; what fails here the cron scan sends. */
export async function sendHeads(env: Env, ids: number[]): Promise<void> {
  try {
    await enqueueDeliveries(env, ids);
  } catch (err) {
    logger.error(`Webhook queue: enqueueing the next of ordering keys ${ids.join(", ")} failed`, {
      event: "webhook.order_enqueue_failed",
      count: ids.length,
      error: err,
    });
  }
}
