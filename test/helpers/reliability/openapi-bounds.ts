/**
 * The bounded fields of the OpenAPI document's request bodies, and bodies built from the schemas
 * alone: the bounds fuzzer takes every maximum from the document the Worker serves, so a field
 * documented with a bound is tested at it, and a field without one is listed.
 */

/** A string or list field of a request body; `path` has `0` for "an item of this list". */
export interface BoundedField {
  path: (string | number)[];
  kind: "string" | "array";
  /** `maxLength` or `maxItems`; undefined when the document gives none. */
  max?: number;
  schema: any;
  /**
   * The length of the path of the nearest `anyOf`/`oneOf` around the field: zod reports a value
   * that fits no branch of a union at the union, so `details` may name that ancestor instead.
   */
  union: number;
}

/** The key used for maps (`additionalProperties`): the chat schemas' texts are keyed by language. */
const ADDITIONAL_KEY = "en";

export function resolve(doc: any, schema: any): any {
  let s = schema;
  for (let hops = 0; s?.$ref && hops < 20; hops++) {
    s = doc.components?.schemas?.[String(s.$ref).split("/").pop()!];
  }
  return s;
}

/** The alternatives of an `anyOf`/`oneOf` (or the schema itself), `$ref`s resolved. */
function variants(doc: any, schema: any): any[] {
  const s = resolve(doc, schema);
  const options = s?.anyOf ?? s?.oneOf;
  if (!options) return s ? [s] : [];
  return options.flatMap((o: any) => variants(doc, o)).filter((o: any) => o.type !== "null");
}

function typeOf(s: any): string | undefined {
  if (Array.isArray(s.type)) return s.type.find((t: string) => t !== "null");
  if (s.type) return s.type;
  if (s.properties) return "object";
  return undefined;
}

/**
 * Every string and array field reachable in `schema`, depth-first. A field reached through
 * several `anyOf` branches is listed once per distinct bound. Strings that are enums or constants
 * are bounded by their values and not listed.
 */
export function fieldsOf(
  doc: any,
  schema: any,
  path: (string | number)[] = [],
  outerUnion = Number.POSITIVE_INFINITY,
): BoundedField[] {
  if (path.length > 8) return [];
  const out: BoundedField[] = [];
  const all = variants(doc, schema);
  const union = all.length > 1 ? Math.min(outerUnion, path.length) : outerUnion;
  for (const s of all) {
    const allOf = (s.allOf ?? []).flatMap((part: any) => fieldsOf(doc, part, path, union));
    out.push(...allOf);
    const type = typeOf(s);
    if (type === "string" && s.enum === undefined && s.const === undefined) {
      out.push({ path, kind: "string", max: s.maxLength, schema: s, union });
    } else if (type === "array") {
      out.push({ path, kind: "array", max: s.maxItems, schema: s, union });
      out.push(...fieldsOf(doc, s.items, [...path, 0], union));
    } else if (type === "object") {
      for (const [name, prop] of Object.entries<any>(s.properties ?? {})) {
        out.push(...fieldsOf(doc, prop, [...path, name], union));
      }
      const extra = s.additionalProperties;
      if (extra && typeof extra === "object" && Object.keys(extra).length) {
        out.push(...fieldsOf(doc, extra, [...path, "*"], union));
      }
    }
  }
  const seen = new Set<string>();
  return out.filter((f) => {
    const key = `${f.path.join(".")}|${f.kind}|${f.max}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A string of exactly `length` characters that the schema's format and pattern accept. */
export function stringOf(s: any, length: number): string {
  const pad = (prefix: string, suffix = "") =>
    length <= prefix.length + suffix.length
      ? "a".repeat(length)
      : prefix + "a".repeat(length - prefix.length - suffix.length) + suffix;
  if (s.format === "uri" || s.format === "url") return pad("https://example.com/");
  if (s.format === "email") return pad("", "@example.com");
  const pattern = s.pattern ? new RegExp(s.pattern) : undefined;
  const candidates = [
    typeof s.example === "string" ? pad(s.example) : undefined,
    "a".repeat(length),
    pad("a-"),
    "1".repeat(length),
  ];
  return (
    candidates.find(
      (c) => c !== undefined && c.length === length && (!pattern || pattern.test(c)),
    ) ?? "a".repeat(length)
  );
}

/**
 * A value the schema accepts as far as the document can tell (examples, enums, minimums); ids
 * of real resources come from `idFor` where a field names one.
 */
export function validValue(
  doc: any,
  schema: any,
  idFor: (name: string) => unknown,
  name = "",
): unknown {
  // A copy: bodies are changed in place, the document's examples and defaults must not be.
  return structuredClone(documentedValue(doc, schema, idFor, name));
}

function documentedValue(
  doc: any,
  schema: any,
  idFor: (name: string) => unknown,
  name: string,
): unknown {
  const s = variants(doc, schema)[0];
  if (!s) return null;
  const id = idFor(name);
  if (id !== undefined) return id;
  if (s.example !== undefined && typeOf(s) !== "object" && typeOf(s) !== "array") return s.example;
  if (s.default !== undefined && typeOf(s) !== "object") return s.default;
  if (s.enum) return s.enum[0];
  if (s.const !== undefined) return s.const;
  switch (typeOf(s)) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const key of s.required ?? []) {
        out[key] = validValue(doc, s.properties?.[key], idFor, key);
      }
      return out;
    }
    case "array":
      return Array.from({ length: s.minItems ?? 0 }, () => validValue(doc, s.items, idFor, name));
    case "string":
      return stringOf(s, Math.max(s.minLength ?? 1, 1));
    case "integer":
    case "number":
      return s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
    case "boolean":
      return false;
    default:
      return {};
  }
}

/** The schema at `path` inside `schema` (following objects and array items). */
function schemaAt(doc: any, schema: any, path: (string | number)[]): any {
  let s = variants(doc, schema)[0];
  for (const key of path) {
    if (!s) return undefined;
    s = variants(
      doc,
      key === 0 ? s.items : key === "*" ? s.additionalProperties : s.properties?.[key],
    )[0];
  }
  return s;
}

/** A valid body with `value` placed at `path` (parents created from their schemas). */
export function bodyWith(
  doc: any,
  schema: any,
  path: (string | number)[],
  value: unknown,
  idFor: (name: string) => unknown,
): unknown {
  if (!path.length) return value;
  // A body of alternatives (a single or a batch publish) is built as the one holding the field:
  // strict alternatives refuse a body that mixes them.
  const first = path[0];
  const holder = variants(doc, schema).find(
    (v) => typeof first === "string" && v.properties?.[first],
  );
  if (holder && holder !== resolve(doc, schema)) schema = holder;
  const root = validValue(doc, schema, idFor) as any;
  let node = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    const here = key === "*" ? ADDITIONAL_KEY : key;
    const childSchema = schemaAt(doc, schema, path.slice(0, i + 1));
    let child = node[here];
    if (child === undefined || child === null || typeof child !== "object") {
      child = validValue(doc, childSchema, idFor, String(key));
      if (child === null || typeof child !== "object")
        child = typeOf(childSchema ?? {}) === "array" ? [] : {};
    }
    if (Array.isArray(child) && child.length === 0) {
      child.push(
        validValue(doc, schemaAt(doc, schema, [...path.slice(0, i + 1), 0]), idFor, String(key)),
      );
    }
    node[here] = child;
    node = child;
  }
  const last = path.at(-1)!;
  node[last === "*" ? ADDITIONAL_KEY : last] = value;
  return root;
}

/** The value of a field at `length` characters or items. */
export function valueOfLength(
  doc: any,
  field: BoundedField,
  length: number,
  idFor: (name: string) => unknown,
): unknown {
  if (field.kind === "string") return stringOf(field.schema, length);
  const name = String(field.path.filter((p) => typeof p === "string").at(-1) ?? "");
  return Array.from({ length }, (_v, i) => {
    const item = validValue(doc, field.schema.items, idFor, name);
    // Lists of ids or names are often unique: vary string items.
    return typeof item === "string" && length > 1
      ? distinct(item, i, field.schema.items, doc)
      : item;
  });
}

function distinct(item: string, i: number, itemSchema: any, doc: any): string {
  const s = resolve(doc, itemSchema);
  if (s?.enum) return s.enum[i % s.enum.length];
  const suffix = String(i);
  const max = s?.maxLength ?? Number.POSITIVE_INFINITY;
  return (item + suffix).slice(-Math.min(max, item.length + suffix.length));
}

/**
 * How `details` may name a field: `a.0.b`, or without trailing list indices (the chat routes);
 * inside a union, the union itself or any path between it and the field.
 */
export function detailKeys(field: BoundedField): string[] {
  const named = field.path.map((p) => (p === "*" ? ADDITIONAL_KEY : p));
  const keys: string[] = [];
  for (let end = named.length; end >= Math.min(field.union, named.length) && end > 0; end--) {
    const head = named.slice(0, end);
    keys.push(head.join("."));
    while (typeof head.at(-1) === "number") head.pop();
    if (head.length) keys.push(head.join("."));
  }
  return [...new Set(keys)];
}
