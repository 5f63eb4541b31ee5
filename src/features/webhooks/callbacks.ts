import { logger } from "../../platform/log";
/**
 * After-delivery callbacks, registered in code by name; a hook may name one in `callback`.
 * The seed imported any dotted path a subscriber sent, which let a subscriber run any code:
 * here only names registered below (or by `registerCallback` at module load) are accepted.
 */
export interface DeliveryResult {
  webhook_id: string;
  event_uuid: string;
  attempt: number;
  status: "succeeded" | "failed" | "retrying";
  response_status: number | null;
  error: string | null;
  duration_ms: number | null;
}

export interface DeliveryPayload {
  event: { type: string; uuid: string };
  data: unknown;
}

export type DeliveryCallback = (
  result: DeliveryResult,
  eventType: string,
  data: unknown,
  payload: DeliveryPayload,
) => void | Promise<void>;

const callbacks = new Map<string, DeliveryCallback>();

export function registerCallback(name: string, callback: DeliveryCallback): void {
  if (callbacks.has(name)) throw new Error(`Webhook callback '${name}' is already registered`);
  callbacks.set(name, callback);
}

/** Removes a callback (tests register their own and clean up). */
export function unregisterCallback(name: string): void {
  callbacks.delete(name);
}

export function isRegisteredCallback(name: string): boolean {
  return callbacks.has(name);
}

/** Runs a hook's callback after an attempt; a failing callback is logged, never retried. */
export async function runCallback(
  name: string | null,
  result: DeliveryResult,
  eventType: string,
  data: unknown,
  payload: DeliveryPayload,
): Promise<void> {
  const callback = name ? callbacks.get(name) : undefined;
  if (!callback) return;
  try {
    await callback(result, eventType, data, payload);
  } catch (err) {
    logger.error(`Webhook callback '${name}' failed for event ${result.event_uuid}`, {
      event: "webhook.callback_failed",
      error: err,
    });
  }
}

registerCallback("log_failures", (result, eventType) => {
  if (result.status !== "succeeded") {
    logger.warn(
      `Webhook ${result.webhook_id}: ${eventType} ${result.event_uuid} attempt ${result.attempt} ${result.status}` +
        (result.response_status ? ` (HTTP ${result.response_status})` : ""),
      { event: "webhook.attempt_failed", status: result.response_status ?? undefined },
    );
  }
});
