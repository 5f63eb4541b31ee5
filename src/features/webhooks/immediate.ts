import { logger } from "../../platform/log";
import { attemptClaimed, type Due, deliverAll, leaseMs } from "./deliver";
import type { RecordedGroup } from "./first-claim";
import { type DeliveryTicket, enqueueEach } from "./queue";

/**
 * The first attempt of freshly recorded deliveries, made by the emitting Worker (in `waitUntil`)
 * instead of after a trip through the Queue. The deliveries were claimed in the transaction that
 * recorded them (first-claim.ts); their attempts then run the consumer's own code
 * (`attemptClaimed`: SSRF check, POST, outcome, breaker, log, next heads of ordering keys), and a
 * paced hook's deliveries its whole path (`deliverAll`, which reserves their slots). The claim in
 * D1 is the lock: nothing is sent twice.
 *
 * Each delivery also has a Queue message, delayed by `safetyNetDelaySeconds`: if this Worker dies
 * between the claim and the outcome, that message (or the cron scan) finds the delivery still
 * open once the lease is over and makes the attempt; otherwise it finds the delivery closed, or
 * waiting for a retry that has its own message, and acks.
 */

/** The Queue message's delay: past the lease an immediate attempt holds, so it comes after it. */
export function safetyNetDelaySeconds(env: Pick<Env, "WEBHOOK_TIMEOUT_SECONDS">): number {
  return Math.ceil(leaseMs(env) / 1000) + 1;
}

/**
 * Attempts a recorded group's deliveries once. What the consumer would hand back to the Queue (a
 * retry after a failed attempt, a paced delivery's later slot) goes as a fresh message with that
 * delay; an ordered delivery behind its key's head waits in D1, as it would for the consumer.
 * Never throws: what fails here the safety-net messages and the scan still cover.
 */
export async function attemptNow(env: Env, group: RecordedGroup): Promise<void> {
  const later: { id: number; delaySeconds: number }[] = [];
  const ticket = (id: number): DeliveryTicket => ({
    body: { delivery_id: id },
    // The delivery's own message is already in the Queue: nothing to acknowledge.
    ack: () => {},
    retry: (options) => later.push({ id, delaySeconds: options?.delaySeconds ?? 0 }),
  });
  const claimed: Due[] = group.claimed.map((d) => ({ ...d, message: ticket(d.delivery.id) }));
  const paced = group.unclaimed
    .filter((d) => d.hook?.pace !== null && d.hook?.pace !== undefined)
    .map((d) => ticket(d.delivery.id));
  try {
    await Promise.all([
      claimed.length &&
        attemptClaimed(
          env,
          claimed,
          claimed.map(() => null),
          new Set(),
          new Set(),
        ),
      paced.length && deliverAll(env, paced, new Set()),
    ]);
    await enqueueEach(env, later);
  } catch (err) {
    logger.warn("Webhook deliveries: the immediate attempt failed; their Queue messages follow", {
      event: "webhook.immediate_failed",
      count: claimed.length + paced.length,
      error: err,
    });
  }
}
