import {
  dereference,
  ignoredKeyword,
  type Schema,
  schemaArrayKeyword,
  schemaMapKeyword,
  Validator,
} from "@cfworker/json-schema";
import type { FieldErrors } from "../../platform/errors";
import { META_SCHEMA } from "./event-schema-meta";
import { schemaFieldErrors } from "./schema-errors";

/**
 * The JSON Schema an app may give its event type (contract §6): checked once when registered,
 * then compiled per isolate and run on every emit of that type. Draft 2020-12 only: it is what
 * `z.toJSONSchema` writes for the built-in types, so one dialect describes every type.
 */

export const DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema";
/** A schema describes one payload; anything larger is a mistake or an attack on the validator. */
export const MAX_SCHEMA_BYTES = 16 * 1024;
/** The validator recurses per level: a bound keeps a hostile schema from exhausting the stack. */
export const MAX_SCHEMA_DEPTH = 32;

/**
 * Keywords the validator cannot honour (dynamic scopes) or that would let a schema reach past
 * itself. Refusing them at registration beats a schema that silently checks less than it says.
 */
const UNSUPPORTED = ["$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor"];

/** A compiled check of one type's data: field errors keyed `data.<path>`, or null when it fits. */
export type DataCheck = (data: unknown) => FieldErrors | null;

function depthOf(value: unknown, depth = 0): number {
  if (depth > MAX_SCHEMA_DEPTH || value === null || typeof value !== "object") return depth;
  let deepest = depth;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depthOf(child, depth + 1));
  return deepest;
}

/**
 * Every subschema with its path, walked as the validator walks them (its own keyword tables), so
 * a property that happens to be named `$ref` is data, not a reference.
 */
function* subschemas(schema: unknown, path: string[] = []): Generator<[Schema, string[]]> {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return;
  yield [schema as Schema, path];
  for (const [key, value] of Object.entries(schema)) {
    if (ignoredKeyword[key]) continue;
    if (Array.isArray(value)) {
      if (!schemaArrayKeyword[key]) continue;
      for (const [i, item] of value.entries()) yield* subschemas(item, [...path, key, String(i)]);
    } else if (schemaMapKeyword[key] && typeof value === "object" && value !== null) {
      for (const [name, item] of Object.entries(value))
        yield* subschemas(item, [...path, key, name]);
    } else {
      yield* subschemas(value, [...path, key]);
    }
  }
}

const keyOf = (path: string[], keyword: string) => ["schema", ...path, keyword].join(".");

let metaValidator: Validator | undefined;

/**
 * Every problem of a schema an app registers, as field errors keyed `schema.<path>`, or null
 * when it may be stored. Checks, in order: size, depth, dialect, the meta-schema, the keywords
 * refused above, that only the root has an `$id`, that every `$ref` points into the schema
 * itself (`#…`, never a remote URL: validation never fetches) and resolves, and that the root
 * accepts an object (an event's `data` always is one).
 */
export function checkEventSchema(schema: unknown): FieldErrors | null {
  // Depth first: its walk stops at the bound, while serializing recurses through every level.
  if (depthOf(schema) > MAX_SCHEMA_DEPTH) {
    return { schema: [`must be nested at most ${MAX_SCHEMA_DEPTH} levels deep`] };
  }
  const bytes = new TextEncoder().encode(JSON.stringify(schema)).length;
  if (bytes > MAX_SCHEMA_BYTES) {
    return { schema: [`must be at most ${MAX_SCHEMA_BYTES} bytes as JSON (is ${bytes})`] };
  }
  if (typeof schema === "object" && schema !== null && "$schema" in schema) {
    const dialect = String(schema.$schema).replace(/#$/, "");
    if (dialect !== DRAFT_2020_12) {
      return { "schema.$schema": [`only draft 2020-12 is supported (${DRAFT_2020_12})`] };
    }
  }
  metaValidator ??= new Validator(structuredClone(META_SCHEMA), "2020-12", false);
  const meta = metaValidator.validate(schema);
  if (!meta.valid) return schemaFieldErrors("schema", meta.errors);

  // Resolves ids, anchors and refs as the validator will; it annotates what it is given.
  const root = structuredClone(schema) as Schema;
  let lookup: Record<string, Schema | boolean>;
  try {
    lookup = dereference(root);
  } catch (err) {
    return { schema: [`cannot be resolved: ${err instanceof Error ? err.message : String(err)}`] };
  }
  const problems = new Map<string, string[]>();
  for (const [sub, at] of subschemas(root)) {
    for (const keyword of UNSUPPORTED) {
      if (keyword in sub) problems.set(keyOf(at, keyword), ["is not supported"]);
    }
    if (at.length && (sub.$id !== undefined || sub.id !== undefined)) {
      problems.set(keyOf(at, "$id"), ["only the root schema may have an $id"]);
    }
    if (typeof sub.$ref === "string") {
      if (!sub.$ref.startsWith("#")) {
        problems.set(keyOf(at, "$ref"), ["must point into this schema (#…), never to a URL"]);
      } else if (sub.__absolute_ref__ === undefined || !(sub.__absolute_ref__ in lookup)) {
        problems.set(keyOf(at, "$ref"), [`'${sub.$ref}' is not a schema in this document`]);
      }
    }
  }
  if (problems.size) return Object.fromEntries(problems);
  const loop = refLoop(root, lookup);
  if (loop) return { [loop]: ["loops back without descending into the data"] };
  if (!acceptsObjects(root)) {
    return { schema: ["must accept an object: an event's data always is one"] };
  }
  return null;
}

/** Keywords that apply their subschemas to the same value, not to a part of it. */
const IN_PLACE_ONE = ["not", "if", "then", "else"] as const;
const IN_PLACE_MANY = ["allOf", "anyOf", "oneOf"] as const;
const IN_PLACE_MAPS = ["dependentSchemas", "dependencies"] as const;
const isMap = (value: unknown): value is object =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The error key of a `$ref` that reaches itself without descending into the data
 * (`{"$ref": "#"}`): the validator would recurse until the stack runs out on every emit, so such
 * a type could never be emitted. Edges are `$ref` targets and in-place applicators; a cycle among
 * them is the loop, reported at the edge that closes it.
 */
function refLoop(root: Schema, lookup: Record<string, Schema | boolean>): string | null {
  const paths = new Map<Schema, string[]>();
  for (const [sub, at] of subschemas(root)) paths.set(sub, at);
  const state = new Map<Schema, "open" | "done">();
  const visit = (sub: Schema): string | null => {
    state.set(sub, "open");
    const edges: [unknown, string][] = [
      ...IN_PLACE_ONE.map((k): [unknown, string] => [sub[k], k]),
      ...IN_PLACE_MANY.flatMap((k) =>
        Array.isArray(sub[k])
          ? sub[k].map((v: unknown, i: number): [unknown, string] => [v, `${k}.${i}`])
          : [],
      ),
      ...IN_PLACE_MAPS.flatMap((k) =>
        isMap(sub[k])
          ? Object.entries(sub[k]).map(([n, v]): [unknown, string] => [v, `${k}.${n}`])
          : [],
      ),
      [sub.__absolute_ref__ === undefined ? undefined : lookup[sub.__absolute_ref__], "$ref"],
    ];
    for (const [child, label] of edges) {
      if (typeof child !== "object" || child === null) continue;
      const next = child as Schema;
      if (state.get(next) === "open") return keyOf(paths.get(sub) ?? [], label);
      const found = state.has(next) ? null : visit(next);
      if (found) return found;
    }
    state.set(sub, "done");
    return null;
  };
  for (const sub of paths.keys()) {
    const found = state.has(sub) ? null : visit(sub);
    if (found) return found;
  }
  return null;
}

function acceptsObjects(root: Schema | boolean): boolean {
  if (root === false) return false;
  if (root === true || root.type === undefined) return true;
  return Array.isArray(root.type) ? root.type.includes("object") : root.type === "object";
}

/**
 * Compiles a stored schema (checked at registration) into the check run on every emit. The
 * validator annotates the schema object it is given, so it gets a copy of its own.
 */
export function compileEventSchema(json: string): DataCheck {
  const validator = new Validator(JSON.parse(json) as Schema, "2020-12", false);
  return (data) => {
    let result: ReturnType<Validator["validate"]>;
    try {
      result = validator.validate(data);
    } catch (err) {
      // A recursive schema ($ref: "#") follows the data down: data nested deep enough to exhaust
      // the stack is refused as data, not answered with a 500.
      if (err instanceof RangeError) return { data: ["is nested too deeply to check"] };
      throw err;
    }
    return result.valid ? null : schemaFieldErrors("data", result.errors);
  };
}
