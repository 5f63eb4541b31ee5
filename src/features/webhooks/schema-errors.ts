import type { OutputUnit } from "@cfworker/json-schema";
import type { FieldErrors } from "../../platform/errors";

/**
 * Turns a JSON Schema validator's output into the contract's field errors: one key per instance
 * path, dotted from `root` (`data.items.0.sku`), each with short messages. The validator reports
 * every level of a failure (`properties` → `items` → the leaf); only the leaf tells the caller
 * what to fix, so the wrapping levels and the losing branches of `anyOf`/`oneOf`/`not` are left
 * out. A key in the data that holds a `.` reads ambiguously; the path is for people, not parsing.
 */

/** Keywords whose error only says "something below failed": the error below is the one kept. */
const WRAPPERS = new Set([
  "properties",
  "patternProperties",
  "additionalProperties",
  "unevaluatedProperties",
  "items",
  "prefixItems",
  "additionalItems",
  "unevaluatedItems",
  "dependentSchemas",
  "allOf",
  "$ref",
  "if",
  "then",
  "else",
]);

/**
 * An error inside one branch of `anyOf`/`oneOf`/`not` is not the caller's problem (the branch was
 * optional); one inside `propertyNames` is about a key, which its own error already names.
 */
const INSIDE_BRANCH = /\/(anyOf|oneOf)\/\d+\/|\/(not|propertyNames)\//;

/** Enough for a person to fix a payload; a 1 MiB payload could otherwise list thousands. */
export const MAX_ERROR_KEYS = 50;

function pathOf(root: string, instanceLocation: string): string {
  const pointer = instanceLocation.replace(/^#\/?/, "");
  const segments = pointer === "" ? [] : pointer.split("/");
  return [root, ...segments.map(decodeSegment)].join(".");
}

function decodeSegment(segment: string): string {
  let text = segment;
  try {
    text = decodeURIComponent(segment);
  } catch {
    // A literal % that was not an escape: keep the segment as it came.
  }
  return text.replaceAll("~1", "/").replaceAll("~0", "~");
}

/** `required property "amount".` → `amount`: the validator names it only in its message. */
const QUOTED = /"((?:[^"\\]|\\.)*)"\.?$/;

function describe(root: string, unit: OutputUnit): [string, string] {
  const at = pathOf(root, unit.instanceLocation);
  if (unit.keyword === "required") {
    const name = QUOTED.exec(unit.error)?.[1];
    return name === undefined ? [at, unit.error] : [`${at}.${name}`, "is required"];
  }
  if (unit.keyword === "type") {
    const expected = /Expected "(.+)"\.$/.exec(unit.error)?.[1];
    return [at, expected ? `must be ${expected.split('", "').join(" or ")}` : unit.error];
  }
  // A `false` schema (e.g. additionalProperties: false) rejects whatever is there.
  if (unit.keyword === "false") return [at, "is not allowed"];
  return [at, unit.error];
}

export function schemaFieldErrors(root: string, errors: readonly OutputUnit[]): FieldErrors {
  // Keys can be the caller's own (`__proto__`): a Map, then its entries.
  const out = new Map<string, string[]>();
  for (const unit of errors) {
    if (WRAPPERS.has(unit.keyword) || INSIDE_BRANCH.test(unit.keywordLocation)) continue;
    const [key, message] = describe(root, unit);
    const list = out.get(key);
    if (list) {
      if (!list.includes(message)) list.push(message);
    } else if (out.size < MAX_ERROR_KEYS) {
      out.set(key, [message]);
    }
  }
  if (!out.size) out.set(root, ["does not match the schema"]);
  return Object.fromEntries(out);
}
