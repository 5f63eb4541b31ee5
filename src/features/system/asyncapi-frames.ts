import { z } from "zod";
import {
  AuthData,
  CLIENT_EVENTS,
  CLIENT_REPLIES,
  ErrorDataSchema,
  type RoomKindName,
  requestIdSchema,
  SERVER_EVENTS,
} from "../../protocol";

/**
 * Every frame of every room kind as a zod schema: the envelope around the very data schemas the
 * rooms validate with (`CLIENT_EVENTS`) and the server-event schemas checked against the
 * protocol's types (`SERVER_EVENTS`, `CLIENT_REPLIES`), turned into the JSON Schemas of the
 * AsyncAPI document with zod's `toJSONSchema`.
 */

export type Direction = "client" | "server" | "reply";

export interface Frame {
  /** The component id: `<kind>.<direction>.<event>`. */
  id: string;
  kind: RoomKindName;
  direction: Direction;
  event: string;
  schema: z.ZodType;
}

export const KINDS = Object.keys(CLIENT_EVENTS) as RoomKindName[];

/** The envelope's `event` key; the original clients' `action` / `message` work too. */
const eventName = (event: string) =>
  z.literal(event).meta({ description: "`action` or `message` is accepted in place of `event`" });

const requestId = requestIdSchema.meta({
  description: "Any string or number; the reply carries it back",
});

const seq = z
  .number()
  .int()
  .min(0)
  .meta({ description: "On events of the room's ordered stream: increases by 1 per room" });

/** `state_change` echoes the subscription's `request_id` (the original chat API's shape). */
const ECHOES_REQUEST_ID: Partial<Record<RoomKindName, readonly string[]>> = {
  persons: ["state_change"],
};

export function clientFrame(event: string, data: z.ZodType): z.ZodType {
  return z.object({ event: eventName(event), data, request_id: requestId.optional() });
}

export function echoesRequestId(kind: RoomKindName, event: string): boolean {
  return ECHOES_REQUEST_ID[kind]?.includes(event) ?? false;
}

export function serverFrame(kind: RoomKindName, event: string, data: z.ZodType): z.ZodType {
  const echoes = echoesRequestId(kind, event);
  return z.object({
    event: z.literal(event),
    data,
    seq: seq.optional(),
    ...(echoes ? { request_id: requestId } : {}),
  });
}

/** The one answer to a frame with `request_id`; `data` only on success of events that have it. */
export function replyFrame(data?: z.ZodType): z.ZodType {
  return z.object({
    request_id: requestId,
    status: ErrorDataSchema.shape.status,
    errors: ErrorDataSchema.shape.errors,
    ...(data ? { data: data.optional() } : {}),
  });
}

/** The reply of events whose reply has no data (every kind's, so one component). */
export const GENERIC_REPLY_ID = "reply";

export function replyIdOf(kind: RoomKindName, event: string): string {
  return Object.hasOwn(CLIENT_REPLIES[kind], event) ? `${kind}.reply.${event}` : GENERIC_REPLY_ID;
}

/** Every frame of every kind, in a stable order (kinds, then client, server, reply frames). */
export function allFrames(): Frame[] {
  const frames: Frame[] = [];
  for (const kind of KINDS) {
    const client: Record<string, z.ZodType> = { ...CLIENT_EVENTS[kind], auth: AuthData };
    for (const [event, data] of Object.entries(client)) {
      frames.push({
        id: `${kind}.client.${event}`,
        kind,
        direction: "client",
        event,
        schema: clientFrame(event, data),
      });
    }
    for (const [event, data] of Object.entries<z.ZodType>(SERVER_EVENTS[kind])) {
      frames.push({
        id: `${kind}.server.${event}`,
        kind,
        direction: "server",
        event,
        schema: serverFrame(kind, event, data),
      });
    }
    for (const [event, data] of Object.entries<z.ZodType>(CLIENT_REPLIES[kind])) {
      frames.push({
        id: `${kind}.reply.${event}`,
        kind,
        direction: "reply",
        event,
        schema: replyFrame(data),
      });
    }
  }
  return frames;
}

type JsonSchema = Record<string, unknown>;

/**
 * JSON Schemas (draft 7, the AsyncAPI Schema Object's base) of the frames plus the generic
 * reply, keyed by component id. Client frames are described as a client may send them (zod's
 * input: defaults may be left out), the others as the server sends them. Schemas the protocol
 * names (`.meta({ id })`) become components of their own, referenced from every frame.
 */
export function frameJsonSchemas(frames: Frame[]): Record<string, JsonSchema> {
  const sent = z.registry<{ id: string }>();
  const received = z.registry<{ id: string }>();
  for (const f of frames) (f.direction === "client" ? received : sent).add(f.schema, { id: f.id });
  sent.add(replyFrame(), { id: GENERIC_REPLY_ID });
  const out: Record<string, JsonSchema> = {};
  for (const [registry, io] of [
    [received, "input"],
    [sent, "output"],
  ] as const) {
    const { schemas } = z.toJSONSchema(registry, {
      target: "draft-7",
      io,
      uri: (id) => `${COMPONENT}${id}`,
      // What the server sends may gain fields (payloads are extended, never renamed): clients
      // must not reject unknown keys. What a client sends keeps the rooms' strictness.
      override: ({ jsonSchema }) => {
        if (io === "output" && jsonSchema.additionalProperties === false) {
          delete jsonSchema.additionalProperties;
        }
      },
    });
    for (const [id, schema] of Object.entries(schemas)) {
      // zod gathers the named schemas under one `__shared` entry; each becomes a component.
      const entries = id === SHARED ? Object.entries(sharedDefs(schema)) : [[id, schema] as const];
      for (const [name, value] of entries) add(out, name, clean(value) as JsonSchema);
    }
  }
  return out;
}

const COMPONENT = "#/components/schemas/";
const SHARED = "__shared";
const SHARED_REF = `${COMPONENT}${SHARED}#/definitions/`;

function sharedDefs(schema: JsonSchema): Record<string, JsonSchema> {
  return (schema.definitions ?? {}) as Record<string, JsonSchema>;
}

/** A named schema met in both passes must come out the same, or one id would mean two shapes. */
function add(out: Record<string, JsonSchema>, name: string, schema: JsonSchema): void {
  const known = out[name];
  if (known && JSON.stringify(known) !== JSON.stringify(schema)) {
    throw new Error(`Schema '${name}' differs between what clients send and what they receive`);
  }
  out[name] = schema;
}

/** Drops the per-file `$schema`/`$id` and points shared references at their components. */
function clean(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(clean);
  if (node === null || typeof node !== "object") return node;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "$schema" || key === "$id") continue;
    result[key] =
      key === "$ref" && typeof value === "string"
        ? value.replace(SHARED_REF, COMPONENT)
        : clean(value);
  }
  return result;
}
