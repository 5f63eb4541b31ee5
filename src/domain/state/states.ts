import { z } from "zod";

/** The two kinds of records a client can watch (CONTRACT.md §5). */
export const ENTITIES = ["flow", "step"] as const;
export type Entity = (typeof ENTITIES)[number];

/** Allowed states per entity; anything else is refused with 400 naming `state`. */
export const FLOW_STATES = ["active", "inactive", "completed", "exited"] as const;
export const STEP_STATES = ["active", "inactive", "completed"] as const;

export type FlowState = (typeof FLOW_STATES)[number];
export type StepState = (typeof STEP_STATES)[number];

/** The validation message for a value outside `values`. */
export const oneOf = (values: readonly string[]) => `must be one of: ${values.join(", ")}`;

export const EntityName = z.enum(ENTITIES, { error: "must be 'flow' or 'step'" });

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

/** The data of the `state.changed` domain event (webhooks). */
export interface StateChangedEvent extends StateChange {
  person_key: string;
}
