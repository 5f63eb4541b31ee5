import canonicalize from "canonicalize";
import { z } from "zod";
import { getDb } from "../../platform/db";
import { badRequest } from "../../platform/errors";
import { checkEventSchema, compileEventSchema, type DataCheck } from "./event-schema";
import { findAppEventType, insertAppEventType, listAppEventTypes } from "./queries";

/** One event type: its name, what it means, the shape of its `data`, and how that is sent. */
export interface EventTypeDefinition {
  name: string;
  description: string;
  data: z.ZodType;
  builtin: boolean;
  /** An app type's JSON Schema of `data`, as registered (JSON text); absent: any JSON object. */
  schema?: string;
  /** `schema` compiled, run after `data` on every emit. */
  check?: DataCheck;
}

/** `package-created`, `poker.session_ended`, `app:thing.done`: what an event type may be called. */
export const EventTypeName = z
  .string()
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/, "letters, digits and . _ : - (at most 100)");

const Id = z.union([z.string(), z.number()]);

/** Types registered by apps at runtime carry any JSON object. */
const AppEventData = z.record(z.string(), z.unknown());

/** Contract §10: a room's first socket, and its last gone after the presence grace. */
const ROOM_LIFECYCLE_TYPES: EventTypeDefinition[] = [
  {
    name: "room.occupied",
    description: "A room got its first socket (contract §10).",
    data: z.looseObject({ kind: z.string(), id: z.string() }),
    builtin: true,
  },
  {
    name: "room.vacated",
    description: "A room's last socket is gone, after the presence grace (contract §10).",
    data: z.looseObject({ kind: z.string(), id: z.string() }),
    builtin: true,
  },
];

const BUILTIN: EventTypeDefinition[] = [
  {
    name: "poker.session_ended",
    description: "A planning poker session ended.",
    data: z.looseObject({ session_id: Id, name: z.string(), ended_at: z.string() }),
    builtin: true,
  },
  {
    name: "poker.story_points_submitted",
    description: "A moderator set the points of a planning poker story.",
    data: z.looseObject({
      session_id: Id,
      story_id: Id,
      story_label: z.string(),
      story_points: z.union([z.number(), z.string()]).nullable(),
    }),
    builtin: true,
  },
  {
    name: "thread.message_created",
    description: "A message was posted in a chat thread.",
    data: z.looseObject({
      thread_id: Id,
      message_id: Id,
      sender_id: Id.nullable(),
      type: z.string(),
      text: z.string().nullable(),
    }),
    builtin: true,
  },
  {
    name: "state.changed",
    description: "A person's flow or step changed state.",
    data: z.looseObject({
      person_key: z.string(),
      entity: z.enum(["flow", "step"]),
      id: Id,
      identifier: z.string(),
      state: z.string(),
      previous_state: z.string().nullable(),
    }),
    builtin: true,
  },
  {
    name: "bus.notification",
    description: "A notification was published on the bus.",
    data: z.looseObject({
      db: z.string(),
      channel: z.string(),
      title: z.string(),
      body: z.string(),
      priority: z.number().int(),
    }),
    builtin: true,
  },
  {
    name: "webhook.endpoint_disabled",
    description:
      "A hook was disabled by the system: its target answered 410 Gone, or every delivery to it failed for DISABLE_AFTER_HOURS.",
    data: z.looseObject({ hook_id: z.string(), target_url: z.string(), reason: z.string() }),
    builtin: true,
  },
  ...ROOM_LIFECYCLE_TYPES,
];

const codeTypes = new Map<string, EventTypeDefinition>(BUILTIN.map((t) => [t.name, t]));

/** Whether the system emits `name` itself (built in or registered in code): admin-only data. */
export function isBuiltinEventType(name: string): boolean {
  return codeTypes.has(name);
}

/**
 * App types this isolate has seen, with their schema compiled once. App types (and so their
 * schemas) are never changed or removed once registered, so a cached type is always right and
 * needs no expiry; a name not cached is looked up in D1, so a type registered through another
 * isolate is found at its first emit there.
 */
const appTypes = new Map<string, EventTypeDefinition>();

function appType(name: string, description: string, schema: string | null): EventTypeDefinition {
  const type: EventTypeDefinition = { name, description, data: AppEventData, builtin: false };
  if (schema !== null) {
    type.schema = schema;
    type.check = compileEventSchema(schema);
  }
  appTypes.set(name, type);
  return type;
}

/**
 * What registering a type did: `created`; `unchanged` when the same name was registered before
 * with the same description and schema (so a deploy script may register its types on every
 * start); `conflict` naming what differs. A type's schema never changes: a new shape is a new
 * type name (`package-created.v2`), which subscribers opt into.
 */
export type Registration =
  | { outcome: "created" | "unchanged"; type: EventTypeDefinition }
  | { outcome: "conflict"; details: Record<string, string[]> };

function sameSchema(stored: string | undefined, given: unknown): boolean {
  const before = stored === undefined ? undefined : canonicalize(JSON.parse(stored));
  return before === (given === undefined ? undefined : canonicalize(given));
}

/** Registers an app type in D1. An invalid schema is a 400 naming the problem. */
export async function registerAppEventType(
  env: Env,
  name: string,
  description: string,
  schema?: unknown,
): Promise<Registration> {
  if (codeTypes.has(name)) {
    return { outcome: "conflict", details: { event_type: ["is a built-in event type"] } };
  }
  if (schema !== undefined) {
    const problems = checkEventSchema(schema);
    if (problems) throw badRequest(`Invalid JSON Schema for event type '${name}'`, problems);
  }
  const json = schema === undefined ? null : JSON.stringify(schema);
  if (await insertAppEventType(getDb(env.DB), name, description, json)) {
    return { outcome: "created", type: appType(name, description, json) };
  }
  const existing = await findEventType(env, name);
  if (!existing) throw new Error(`Event type '${name}' was neither inserted nor found`);
  const details: Record<string, string[]> = {};
  if (existing.description !== description)
    details.description = ["differs from the registered one"];
  if (!sameSchema(existing.schema, schema)) {
    details.schema = ["differs from the registered one; register a new type name for a new shape"];
  }
  return Object.keys(details).length
    ? { outcome: "conflict", details }
    : { outcome: "unchanged", type: existing };
}

/** The code type of that name, else the app-registered one (cached, else from D1), else null. */
export async function findEventType(env: Env, name: string): Promise<EventTypeDefinition | null> {
  const known = codeTypes.get(name) ?? appTypes.get(name);
  if (known) return known;
  const row = await findAppEventType(getDb(env.DB), name);
  return row ? appType(row.name, row.description, row.schema) : null;
}

export interface EventTypeView {
  event_type: string;
  description: string;
  schema: Record<string, unknown>;
  builtin: boolean;
}

export function describeEventType(type: EventTypeDefinition): EventTypeView {
  return {
    event_type: type.name,
    description: type.description,
    schema: type.schema
      ? (JSON.parse(type.schema) as Record<string, unknown>)
      : (z.toJSONSchema(type.data, { io: "input", unrepresentable: "any" }) as Record<
          string,
          unknown
        >),
    builtin: type.builtin,
  };
}

/** Every type, code ones first, then the app's in name order. */
export async function listEventTypes(env: Env): Promise<EventTypeView[]> {
  const app = await listAppEventTypes(getDb(env.DB));
  return [
    ...[...codeTypes.values()].map(describeEventType),
    ...app.map((row) =>
      describeEventType({
        name: row.name,
        description: row.description,
        data: AppEventData,
        builtin: false,
        schema: row.schema ?? undefined,
      }),
    ),
  ];
}
