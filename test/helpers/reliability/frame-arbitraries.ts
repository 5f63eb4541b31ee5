import fc from "fast-check";

/**
 * Invalid WebSocket frames, by family. Every frame built here is refused by construction (the
 * property tests assert a 4xx answer and unchanged storage), so the generators only produce
 * values a room must refuse: they never rely on luck to avoid a valid frame.
 */
export interface FuzzFrame {
  family: string;
  /** The frame to send; `rid` is the request id to put in it where the envelope allows one. */
  make(rid: string): string | Uint8Array;
  /** A status the answer must have, when the family fixes it. */
  status?: number;
  /** The unknown event the error must name. */
  unknownEvent?: string;
}

/** One client event of a room kind and the ways its data can be made invalid. */
export interface CommandSpec {
  event: string;
  /** Valid data: the mutations below start from it. */
  valid: Record<string, unknown>;
  /** Per field, values that make the frame invalid (wrong type, out of range, refused). */
  bad: { [field: string]: fc.Arbitrary<unknown> | undefined };
  required: string[];
  /** The schema refuses unknown keys. */
  strict: boolean;
}

const EVENT_KEYS = ["event", "action", "message"] as const;

/**
 * Keys named like JavaScript built-ins: a lookup keyed by client input that is not an own-key
 * check (`obj[key]`, `key in obj`) finds these on every plain object. They are ordinary unknown
 * keys: 400 or ignored, never 500.
 */
export const BUILTIN_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "toLocaleString",
  "__defineGetter__",
  "__lookupGetter__",
  "then",
  "length",
] as const;

/** What a built-in-name key carries: values a careless merge or lookup would trip on. */
export const builtinKeyValue = fc.constantFrom<unknown>(
  1,
  "x",
  null,
  true,
  [],
  {},
  { polluted: true },
  [1, 2],
);

/**
 * `value` as JSON text with `key: extra` added to the top-level object and, when `nested`, to
 * every object inside it too. Built as text: `{ [key]: v }` would not keep `__proto__` as an own
 * key, and JSON.parse on the server does.
 */
export function jsonWithKey(value: unknown, key: string, extra: unknown, nested: boolean): string {
  const add = (v: unknown, depth: number): string => {
    if (Array.isArray(v)) return `[${v.map((item) => add(item, depth + 1)).join(",")}]`;
    if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
    const entries = Object.entries(v).map(
      ([k, item]) => `${JSON.stringify(k)}:${add(item, depth + 1)}`,
    );
    if (depth === 0 || nested) entries.push(`${JSON.stringify(key)}:${JSON.stringify(extra)}`);
    return `{${entries.join(",")}}`;
  };
  return add(value, 0);
}
const eventKey = fc.constantFrom(...EVENT_KEYS);

/** Text of every sort: ASCII, graphemes, lone surrogates and other invalid UTF-16. */
export const anyText = (maxLength = 40) =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: "grapheme", maxLength }),
    fc.string({ unit: "binary", maxLength }),
    fc.constantFrom("\u0000", "\u202e", "\ud800", "\udfff", "💥".repeat(10), "<script>", "%00"),
  );

/** JSON values that are not objects. */
export const nonObject = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  anyText(),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
);

/** Values of a type other than string. */
export const nonString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);

/** Values of a type other than number. */
export const nonNumber = fc.oneof(
  anyText(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);

/** Values of a type other than boolean. */
export const nonBoolean = fc.oneof(
  fc.integer(),
  anyText(),
  fc.constant(null),
  fc.constantFrom("true", "false", 0, 1),
  fc.array(fc.boolean(), { maxLength: 2 }),
);

/** A string longer than `max` characters (still far below the frame limit). */
export const tooLong = (max: number) =>
  fc
    .tuple(
      fc.integer({ min: max + 1, max: max + 2_000 }),
      fc.constantFrom("a", "é", "💥", "\u0000"),
    )
    .map(([n, c]) => c.repeat(n));

/** `depth` nested arrays or objects, as JSON text (built by hand: no recursion needed). */
export const deepJson = fc
  .tuple(fc.integer({ min: 200, max: 5_000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays
      ? "[".repeat(depth) + "]".repeat(depth)
      : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`,
  );

function envelope(key: string, event: unknown, data: unknown, rid: string | undefined) {
  const frame: Record<string, unknown> = { [key]: event };
  if (data !== undefined) frame.data = data;
  if (rid !== undefined) frame.request_id = rid;
  return frame;
}

/** Families that apply to every room kind; `known` are the kind's events. */
export function genericFamilies(known: string[]): Record<string, fc.Arbitrary<FuzzFrame>> {
  const someEvent = fc.constantFrom(...known, "no_such_event");
  const unknownName = fc
    .oneof(
      anyText(60),
      fc.constantFrom(
        ...BUILTIN_KEYS,
        "ping",
        "pong",
        "error",
        ...known.map((k) => k.toUpperCase()),
        ...known.map((k) => ` ${k}`),
      ),
    )
    .filter((name) => name.length > 0 && !known.includes(name));
  return {
    "not JSON": anyText(200)
      .filter((s) => s !== "ping" && !parses(s))
      .map((text) => ({ family: "not JSON", make: () => text, status: 400 })),
    "JSON but not an object": nonObject.map((value) => ({
      family: "JSON but not an object",
      make: () => JSON.stringify(value),
      status: 400,
    })),
    "bad envelope": fc
      .oneof(
        // the event name of the wrong type, empty, or too long
        fc.tuple(eventKey, fc.oneof(nonString, fc.constant(""), tooLong(200))).map(([k, e]) => ({
          [k]: e,
          data: {},
        })),
        // no event at all
        fc
          .dictionary(
            fc
              .string({ maxLength: 8 })
              .filter((k) => !(EVENT_KEYS as readonly string[]).includes(k)),
            fc.jsonValue({ maxDepth: 1 }),
            { maxKeys: 4 },
          )
          .map((rest) => ({ ...rest, data: {} })),
        // a request id of the wrong type or too long, on an otherwise good frame
        fc
          .tuple(
            eventKey,
            someEvent,
            fc.oneof(fc.boolean(), fc.constant(null), fc.object({ maxDepth: 1 }), tooLong(200)),
          )
          .map(([k, e, rid]) => ({ [k]: e, data: {}, request_id: rid })),
      )
      .map((frame) => ({
        family: "bad envelope",
        make: (rid: string) =>
          JSON.stringify("request_id" in frame ? frame : { ...frame, request_id: rid }),
        status: 400,
      })),
    "unknown event": fc
      .tuple(eventKey, unknownName, fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }))
      .map(([k, name, data]) => ({
        family: "unknown event",
        make: (rid: string) => JSON.stringify(envelope(k, name, data, rid)),
        status: 400,
        unknownEvent: name,
      })),
    "data not an object": fc
      .tuple(eventKey, someEvent, fc.option(nonObject, { nil: undefined }))
      .map(([k, name, data]) => ({
        family: "data not an object",
        make: (rid: string) => JSON.stringify(envelope(k, name, data, rid)),
      })),
    "deep nesting": fc.tuple(eventKey, someEvent, deepJson).map(([k, name, deep]) => ({
      family: "deep nesting",
      make: (rid: string) =>
        `{"${k}":${JSON.stringify(name)},"request_id":"${rid}","data":${deep}}`,
    })),
    "binary frame": fc.uint8Array({ maxLength: 512 }).map((bytes) => ({
      family: "binary frame",
      make: () => bytes,
      status: 400,
    })),
    "frame over 64 KiB": fc
      .tuple(someEvent, fc.integer({ min: 65_537, max: 90_000 }), fc.boolean())
      .map(([name, size, binary]) => ({
        family: "frame over 64 KiB",
        make: (rid: string) =>
          binary
            ? new Uint8Array(size)
            : JSON.stringify({ event: name, request_id: rid, data: { text: "x".repeat(size) } }),
        status: 413,
      })),
  };
}

/** Families that take a known event's valid data and break exactly one thing in it. */
export function commandFamilies(specs: CommandSpec[]): Record<string, fc.Arbitrary<FuzzFrame>> {
  if (!specs.length) return {};
  const spec = fc.constantFrom(...specs);
  const frame = (family: string, k: string, event: string, data: unknown): FuzzFrame => ({
    family,
    make: (rid) => JSON.stringify(envelope(k, event, data, rid)),
  });
  const families: Record<string, fc.Arbitrary<FuzzFrame>> = {
    "a field of the wrong type or value": spec
      .filter((s) => Object.keys(s.bad).length > 0)
      .chain((s) =>
        fc.constantFrom(...Object.keys(s.bad)).chain((field) =>
          fc.tuple(eventKey, s.bad[field]!).map(([k, value]) =>
            frame("a field of the wrong type or value", k, s.event, {
              ...s.valid,
              [field]: value,
            }),
          ),
        ),
      ),
    "a deeply nested field": spec
      .filter((s) => Object.keys(s.bad).length > 0)
      .chain((s) =>
        fc
          .tuple(eventKey, fc.constantFrom(...Object.keys(s.bad)), deepJson)
          .map(([k, field, deep]) => ({
            family: "a deeply nested field",
            make: (rid: string) =>
              JSON.stringify(
                envelope(k, s.event, { ...s.valid, [field]: "\u0001DEEP" }, rid),
              ).replace('"\\u0001DEEP"', deep),
          })),
      ),
  };
  if (specs.some((s) => s.required.length)) {
    families["a required field missing"] = spec
      .filter((s) => s.required.length > 0)
      .chain((s) =>
        fc.tuple(eventKey, fc.constantFrom(...s.required)).map(([k, field]) => {
          const data = { ...s.valid };
          delete data[field];
          return frame("a required field missing", k, s.event, data);
        }),
      );
  }
  if (specs.some((s) => s.strict)) {
    families["an unknown field"] = spec
      .filter((s) => s.strict)
      .chain((s) =>
        fc
          .tuple(
            eventKey,
            fc
              .oneof(anyText(20), fc.constantFrom(...BUILTIN_KEYS))
              .filter((key) => !(key in s.valid) && !Object.keys(s.bad).includes(key)),
            fc.jsonValue({ maxDepth: 2 }),
          )
          .map(([k, key, value]) => ({
            family: "an unknown field",
            // built as text: `{ [key]: value }` would not keep `__proto__` as an own key
            make: (rid: string) => {
              const body = JSON.stringify(s.valid).slice(1, -1);
              const extra = `${JSON.stringify(key)}:${JSON.stringify(value ?? null)}`;
              const data = `{${body ? `${body},` : ""}${extra}}`;
              return `{"${k}":${JSON.stringify(s.event)},"request_id":"${rid}","data":${data}}`;
            },
          })),
      );
  }
  return families;
}

/** Frames with valid data that this caller may not send, or that the room's state refuses. */
export function refusedFamily(
  family: string,
  frames: { event: string; data: unknown; status: number }[],
): fc.Arbitrary<FuzzFrame> {
  return fc.tuple(eventKey, fc.constantFrom(...frames)).map(([k, f]) => ({
    family,
    make: (rid: string) => JSON.stringify(envelope(k, f.event, f.data, rid)),
    status: f.status,
  }));
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
