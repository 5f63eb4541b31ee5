import { inArray } from "drizzle-orm";
import { getDb } from "../../platform/db";
import { logger } from "../../platform/log";
import { ADMIN_OWNER } from "./access";
import type { Trip } from "./breaker";
import { dispatchEvents, newEventUuid } from "./outbox";
import type { AttemptOutcome, WebhookRow } from "./queries";
import { webhooks } from "./schema";

/**
 * Contract §6: when the breaker disables a hook, `webhook.endpoint_disabled` goes to the admin's
 * hooks of that type, and the hook's owner hears of it on the bus. The event is recorded in the
 * batch that disables the hook, only if that batch did (`tripped`), so it is recorded once per
 * disable however many attempts of the hook fail at once. A hook of this type that is disabled
 * is not active when the event's deliveries are chosen, so it never gets its own event; each
 * event needs one more hook disabled, so a chain of them ends.
 */

export const ENDPOINT_DISABLED = "webhook.endpoint_disabled";

/** What an owner is told (the bus): the composition root publishes it, webhooks cannot. */
export interface DisabledHook {
  hookId: string;
  /** `user:<id>`; never the admin (who has the event instead). */
  owner: string;
  eventType: string;
  targetUrl: string;
  reason: string;
}

export type DisabledListener = (env: Env, hook: DisabledHook) => Promise<unknown>;

let listener: DisabledListener | null = null;

/**
 * Registers what tells a user their hook was disabled. The bus imports webhooks (its outbox),
 * so webhooks cannot import the bus: the composition root (`src/index.ts`) registers a
 * publisher here once.
 */
export function onEndpointDisabled(notify: DisabledListener): void {
  listener = notify;
}

/** The trip of an attempt of `hook` that may disable it, with its event ready to record. */
export function tripOf(hook: WebhookRow, reason: string, afterMs: number): Trip {
  return {
    reason,
    afterMs,
    event: {
      uuid: newEventUuid(),
      eventType: ENDPOINT_DISABLED,
      data: JSON.stringify({ hook_id: hook.id, target_url: hook.targetUrl, reason }),
      // Built-in: only the admin's hooks get it.
      onlyOwner: ADMIN_OWNER,
    },
  };
}

/**
 * After outcomes are written: dispatches the events of the trips that disabled a hook, then
 * tells the owners. Never throws: the disable is stored, and the event's deliveries are due, so
 * the cron scan sends what the dispatch misses. The bus notice is best effort (logged).
 */
export async function announceDisabled(env: Env, outcomes: AttemptOutcome[]): Promise<void> {
  const uuids = outcomes.flatMap((o) =>
    o.hookEffect.kind === "failed" && o.hookEffect.trip ? [o.hookEffect.trip.event.uuid] : [],
  );
  if (!uuids.length) return;
  try {
    const disabled = await getDb(env.DB)
      .select()
      .from(webhooks)
      .where(inArray(webhooks.disabledEvent, uuids));
    if (!disabled.length) return;
    await dispatchEvents(
      env,
      disabled.flatMap((hook) => (hook.disabledEvent ? [hook.disabledEvent] : [])),
    );
    await Promise.all(disabled.map((hook) => tellOwner(env, hook)));
  } catch (err) {
    logger.error("Webhook breaker: announcing disabled hooks failed", {
      event: "webhook.disabled_announce_failed",
      error: err,
    });
  }
}

async function tellOwner(env: Env, hook: WebhookRow): Promise<void> {
  // The admin has no bus user; it hears through its webhook.endpoint_disabled hooks.
  if (!listener || hook.owner === ADMIN_OWNER) return;
  try {
    await listener(env, {
      hookId: hook.id,
      owner: hook.owner,
      eventType: hook.eventType,
      targetUrl: hook.targetUrl,
      reason: hook.disabledReason ?? "",
    });
  } catch (err) {
    logger.error(`Webhook ${hook.id}: telling its owner it was disabled failed`, {
      event: "webhook.disabled_notice_failed",
      error: err,
    });
  }
}
