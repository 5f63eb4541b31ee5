import { z } from "zod";
import { EntityName } from "./state";

/**
 * The person room's server events and replies as zod schemas, twins of the types in `state.ts`
 * (checked against them at compile time in `server-events.ts`).
 */

export const InstanceSchema = z
  .object({ id: z.string(), identifier: z.string(), state: z.string() })
  .meta({ id: "StateInstance", description: "A flow or step as subscribers see it" });

export const StateChangeSchema = InstanceSchema.extend({
  entity: EntityName,
  previous_state: z.string(),
}).meta({ id: "StateChange" });

export const StateSnapshotSchema = z
  .object({ flows: z.array(InstanceSchema), steps: z.array(InstanceSchema) })
  .meta({ id: "StateSnapshot" });

export const stateServerEventSchemas = { state_change: StateChangeSchema };

export const stateReplySchemas = {
  subscribe_state_change: z.object({
    current: z.array(InstanceSchema).meta({
      description: "The entity's records as they are now, so no change races the subscription",
    }),
  }),
};
