import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { requireAdmin } from "../../platform/auth/middleware";
import { getDb } from "../../platform/db";
import { conflict, notFound } from "../../platform/errors";
import {
  bearerSecurity,
  createRouter,
  errorResponses,
  jsonBody,
  jsonResponse,
} from "../../platform/http/router";
import { IdempotencyHeaders, idempotent } from "../../platform/idempotency/middleware";
import { unwrap } from "../../realtime/rpc-result";
import { personRoom } from "./person-room";
import {
  type FlowRow,
  findFlow,
  findPerson,
  findStep,
  insertFlow,
  insertPerson,
  insertStep,
  listFlowSteps,
  listFlows,
  type PersonRow,
  type StepRow,
} from "./queries";
import { FLOW_STATES, type FlowState, oneOf, STEP_STATES, type StepState } from "./states";

// ---- schemas ------------------------------------------------------------------------------

/** Person keys appear in paths (`/ws/persons/:key`): no slashes, whitespace, `?` or `#`. */
const Key = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\s/?#]+$/, "must not contain whitespace, '/', '?' or '#'");
const Identifier = z.string().min(1).max(200).openapi({ example: "onboarding" });
const FlowStateField = z
  .enum(FLOW_STATES, { error: oneOf(FLOW_STATES) })
  .openapi({ example: "inactive" });
const StepStateField = z
  .enum(STEP_STATES, { error: oneOf(STEP_STATES) })
  .openapi({ example: "inactive" });
const Timestamp = z.string().openapi({ format: "date-time" });

const Person = z
  .object({ key: Key, name: z.string(), created_at: Timestamp, updated_at: Timestamp })
  .openapi("Person");
const Flow = z
  .object({
    id: z.string(),
    person_key: Key,
    identifier: z.string(),
    state: FlowStateField,
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("FlowInstance");
const Step = z
  .object({
    id: z.string(),
    flow_id: z.string(),
    identifier: z.string(),
    state: StepStateField,
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("StepInstance");
const PersonWithFlows = Person.extend({ flows: z.array(Flow) }).openapi("PersonWithFlows");
const FlowWithSteps = Flow.extend({ steps: z.array(Step) }).openapi("FlowWithSteps");

const PersonParams = z.object({ key: Key.openapi({ param: { name: "key", in: "path" } }) });
const IdParams = z.object({ id: z.string().min(1).max(200) });

const toPerson = (p: PersonRow) => ({
  key: p.key,
  name: p.name,
  created_at: p.createdAt,
  updated_at: p.updatedAt,
});
const toFlow = (f: FlowRow) => ({
  id: f.id,
  person_key: f.personKey,
  identifier: f.identifier,
  state: f.state as FlowState,
  created_at: f.createdAt,
  updated_at: f.updatedAt,
});
const toStep = (s: StepRow) => ({
  id: s.id,
  flow_id: s.flowId,
  identifier: s.identifier,
  state: s.state as StepState,
  created_at: s.createdAt,
  updated_at: s.updatedAt,
});

// ---- routes -------------------------------------------------------------------------------

const admin = { tags: ["state"], security: bearerSecurity, middleware: requireAdmin };

const createPerson = createRoute({
  ...admin,
  method: "post",
  path: "/api/persons",
  middleware: [requireAdmin, idempotent] as const,
  summary: "Create a person (admin)",
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(
      z.object({ key: Key.openapi({ example: "p-1" }), name: z.string().min(1).max(200) }).strict(),
    ),
  },
  responses: {
    201: jsonResponse(Person, "The person"),
    ...errorResponses(400, 401, 403, 409, 422),
  },
});

const getPerson = createRoute({
  ...admin,
  method: "get",
  path: "/api/persons/{key}",
  summary: "A person with their flows (admin)",
  request: { params: PersonParams },
  responses: {
    200: jsonResponse(PersonWithFlows, "The person and their flows, oldest first"),
    ...errorResponses(401, 403, 404),
  },
});

const createFlow = createRoute({
  ...admin,
  method: "post",
  path: "/api/persons/{key}/flows",
  middleware: [requireAdmin, idempotent] as const,
  summary: "Start a flow instance for a person (admin)",
  description:
    "Creating a flow is not a state change: subscribers learn of it with its first change, or from `current` when they subscribe.",
  request: {
    headers: IdempotencyHeaders,
    params: PersonParams,
    body: jsonBody(z.object({ identifier: Identifier, state: FlowStateField }).strict()),
  },
  responses: {
    201: jsonResponse(Flow, "The flow instance"),
    ...errorResponses(400, 401, 403, 404, 409, 422),
  },
});

const getFlow = createRoute({
  ...admin,
  method: "get",
  path: "/api/flows/{id}",
  summary: "A flow instance with its steps (admin)",
  request: { params: IdParams },
  responses: {
    200: jsonResponse(FlowWithSteps, "The flow and its steps, oldest first"),
    ...errorResponses(401, 403, 404),
  },
});

const patchFlow = createRoute({
  ...admin,
  method: "patch",
  path: "/api/flows/{id}",
  summary: "Change a flow's state (admin)",
  description:
    "The person's room stores the state with its `state.changed` webhook event in one transaction, then sends `state_change` to the person's subscribers and dispatches the event (a failed dispatch is retried by the cron scan, never answered as an error). Setting the state it already has changes nothing and sends nothing.",
  request: {
    params: IdParams,
    body: jsonBody(z.object({ state: FlowStateField }).strict()),
  },
  responses: {
    200: jsonResponse(Flow, "The flow as stored"),
    ...errorResponses(400, 401, 403, 404),
  },
});

const createStep = createRoute({
  ...admin,
  method: "post",
  path: "/api/flows/{id}/steps",
  middleware: [requireAdmin, idempotent] as const,
  summary: "Add a step instance to a flow (admin)",
  request: {
    headers: IdempotencyHeaders,
    params: IdParams,
    body: jsonBody(
      z
        .object({ identifier: Identifier.openapi({ example: "welcome" }), state: StepStateField })
        .strict(),
    ),
  },
  responses: {
    201: jsonResponse(Step, "The step instance"),
    ...errorResponses(400, 401, 403, 404, 409, 422),
  },
});

const getStep = createRoute({
  ...admin,
  method: "get",
  path: "/api/steps/{id}",
  summary: "A step instance (admin)",
  request: { params: IdParams },
  responses: {
    200: jsonResponse(Step, "The step"),
    ...errorResponses(401, 403, 404),
  },
});

const patchStep = createRoute({
  ...admin,
  method: "patch",
  path: "/api/steps/{id}",
  summary: "Change a step's state (admin)",
  description: "Same order and rules as `PATCH /api/flows/{id}`.",
  request: {
    params: IdParams,
    body: jsonBody(z.object({ state: StepStateField }).strict()),
  },
  responses: {
    200: jsonResponse(Step, "The step as stored"),
    ...errorResponses(400, 401, 403, 404),
  },
});

/** Admin REST of contract §5: persons, their flow instances and the flows' steps. */
export const personRoutes = createRouter()
  .openapi(createPerson, async (c) => {
    const person = await insertPerson(getDb(c.env.DB), c.req.valid("json"));
    if (!person) throw conflict("A person with this key exists", { key: ["already exists"] });
    return c.json(toPerson(person), 201);
  })
  .openapi(getPerson, async (c) => {
    const db = getDb(c.env.DB);
    const { key } = c.req.valid("param");
    const person = await findPerson(db, key);
    if (!person) throw notFound("Person");
    const flows = await listFlows(db, key);
    return c.json({ ...toPerson(person), flows: flows.map(toFlow) }, 200);
  })
  .openapi(createFlow, async (c) => {
    const db = getDb(c.env.DB);
    const { key } = c.req.valid("param");
    if (!(await findPerson(db, key))) throw notFound("Person");
    const flow = await insertFlow(db, { personKey: key, ...c.req.valid("json") });
    return c.json(toFlow(flow), 201);
  })
  .openapi(getFlow, async (c) => {
    const db = getDb(c.env.DB);
    const flow = await findFlow(db, c.req.valid("param").id);
    if (!flow) throw notFound("Flow");
    const steps = await listFlowSteps(db, flow.id);
    return c.json({ ...toFlow(flow), steps: steps.map(toStep) }, 200);
  })
  .openapi(patchFlow, async (c) => {
    const { id } = c.req.valid("param");
    // Routing needs the flow's person (which never changes); the change itself is the room's.
    const flow = await findFlow(getDb(c.env.DB), id);
    if (!flow) throw notFound("Flow");
    const room = personRoom(c.env, flow.personKey);
    const stored = unwrap(
      await room.changeFlowState(flow.personKey, id, c.req.valid("json").state),
    );
    return c.json(toFlow(stored), 200);
  })
  .openapi(createStep, async (c) => {
    const db = getDb(c.env.DB);
    const flow = await findFlow(db, c.req.valid("param").id);
    if (!flow) throw notFound("Flow");
    const step = await insertStep(db, { flowId: flow.id, ...c.req.valid("json") });
    return c.json(toStep(step), 201);
  })
  .openapi(getStep, async (c) => {
    const step = await findStep(getDb(c.env.DB), c.req.valid("param").id);
    if (!step) throw notFound("Step");
    return c.json(toStep(step), 200);
  })
  .openapi(patchStep, async (c) => {
    const { id } = c.req.valid("param");
    const step = await findStep(getDb(c.env.DB), id);
    if (!step) throw notFound("Step");
    const room = personRoom(c.env, step.personKey);
    const stored = unwrap(
      await room.changeStepState(step.personKey, id, c.req.valid("json").state),
    );
    return c.json(toStep(stored), 200);
  });
