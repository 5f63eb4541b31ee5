import { z } from "zod";

/**
 * The person room's events (`/ws/persons/:key`): subscriptions to a person's flow or step
 * state changes, and the changes themselves.
 */

/** The two kinds of records a client can watch. */
export const ENTITIES = ["flow", "step"] as const;
export type Entity = (typeof ENTITIES)[number];

export const EntityName = z.enum(ENTITIES, { error: "must be 'flow' or 'step'" });

/** The data of `subscribe_state_change` and `unsubscribe_state_change`. */
export const SubscriptionData = z.object(
  {
    person_key: z
      .string({
        error: (issue) => (issue.input === undefined ? "is required" : "must be a string"),
      })
      .min(1)
      .max(200),
    entity: EntityName,
  },
  { error: "must be an object with 'person_key' and 'entity'" },
);
export type SubscriptionData = z.output<typeof SubscriptionData>;

export const stateClientEvents = {
  /** Subscribes the socket; the reply carries the entity's records as they are now. */
  subscribe_state_change: SubscriptionData,
  unsubscribe_state_change: SubscriptionData,
};

/** A flow or step as subscribers see it (`data.current` items). */
export interface Instance {
  id: string;
  identifier: string;
  state: string;
}

/** The data of a `state_change` event. */
export interface StateChange extends Instance {
  entity: Entity;
  previous_state: string;
}

export interface StateServerEvents {
  state_change: StateChange;
}

/** `resync`: both lists (the person room keeps no stream, so any `?since=` gets this). */
export interface StateSnapshot {
  flows: Instance[];
  steps: Instance[];
}

export interface StateReplies {
  subscribe_state_change: { current: Instance[] };
}
