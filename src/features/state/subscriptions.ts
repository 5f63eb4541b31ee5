import type { RequestId } from "../../protocol";
import type { Entity, StateChange } from "./states";

/**
 * A socket's subscriptions, one per entity, with the `request_id` its events carry.
 * `null` marks a subscription made without a request id (its events then carry none).
 * Kept in the socket attachment, so it survives hibernation of the person room.
 */
export type Subscriptions = Partial<Record<Entity, RequestId | null>>;

/** Subscribing again replaces the request id: one subscription per entity, so one event per change. */
export function subscribe(
  subs: Subscriptions,
  entity: Entity,
  requestId: RequestId | undefined,
): Subscriptions {
  return { ...subs, [entity]: requestId ?? null };
}

export function unsubscribe(subs: Subscriptions, entity: Entity): Subscriptions {
  const { [entity]: _dropped, ...rest } = subs;
  return rest;
}

/** The `state_change` frame for a socket with these subscriptions, or null when it did not subscribe. */
export function stateChangeFrame(
  subs: Subscriptions,
  change: StateChange,
): { event: "state_change"; request_id?: RequestId; data: StateChange } | null {
  if (!Object.hasOwn(subs, change.entity)) return null;
  const requestId = subs[change.entity];
  return requestId === null || requestId === undefined
    ? { event: "state_change", data: change }
    : { event: "state_change", request_id: requestId, data: change };
}
