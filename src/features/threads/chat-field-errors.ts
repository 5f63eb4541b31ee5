import type { ZodError } from "zod";
import type { FieldErrors } from "../../platform/errors";
import type { ChatCode } from "./errors";
import { FieldCodes } from "./errors";

type Issue = ZodError["issues"][number];
type PathKey = Issue["path"][number];

/**
 * Zod failures of the chat routes (threads, schemas, surveys) as the chat API's codes per field
 * (contract §7), the way their handlers name fields:
 * - a missing value is `REQUIRED`, a list longer than allowed `TOO_MANY`, anything else
 *   `WRONG_VALUE`;
 * - fields are dotted paths (`members.0.user_id`, `attachments.1.type`); a bad item of a list of
 *   values names the list, as the handlers do for `answers` and `permissions`;
 * - an unknown key names itself; a problem with the whole body is `non_field_errors`.
 * `input` is what was validated, to tell a missing value from a wrong one.
 */
export function chatFieldErrors(error: ZodError, input: unknown): FieldErrors {
  const codes = new FieldCodes();
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) codes.add(fieldName([...issue.path, key]), "WRONG_VALUE");
      continue;
    }
    codes.add(fieldName(issue.path), codeOf(issue, input));
  }
  return codes.errors;
}

function codeOf(issue: Issue, input: unknown): ChatCode {
  if (valueAt(input, issue.path) === undefined) return "REQUIRED";
  if (issue.code === "too_big" && issue.origin === "array") return "TOO_MANY";
  return "WRONG_VALUE";
}

function fieldName(path: PathKey[]): string {
  const named = [...path];
  while (typeof named.at(-1) === "number") named.pop();
  return named.length ? named.map(String).join(".") : "non_field_errors";
}

function valueAt(input: unknown, path: PathKey[]): unknown {
  let value = input;
  for (const key of path) {
    // Own keys only: `toString` or `constructor` missing from the input is missing.
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
