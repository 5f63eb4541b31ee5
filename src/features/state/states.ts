import type { StateChange } from "../../protocol/state";

/** The wire shapes live in the protocol module; the rules below use them. */
export {
  ENTITIES,
  type Entity,
  EntityName,
  type Instance,
  type StateChange,
} from "../../protocol/state";

/** Allowed states per entity; anything else is refused with 400 naming `state`. */
export const FLOW_STATES = ["active", "inactive", "completed", "exited"] as const;
export const STEP_STATES = ["active", "inactive", "completed"] as const;

export type FlowState = (typeof FLOW_STATES)[number];
export type StepState = (typeof STEP_STATES)[number];

/** The validation message for a value outside `values`. */
export const oneOf = (values: readonly string[]) => `must be one of: ${values.join(", ")}`;

/** The data of the `state.changed` domain event (webhooks). */
export interface StateChangedEvent extends StateChange {
  person_key: string;
}
