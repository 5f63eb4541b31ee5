import { ApiError, type FieldErrors } from "../../platform/errors";

/** The chat API's per-field validation codes (contract §7). */
export type ChatCode =
  | "REQUIRED"
  | "WRONG_VALUE"
  | "WRONG_STATE"
  | "TOO_MANY"
  | "EXCLUSIVE"
  | "THREAD_IS_CLOSED"
  | "NO_PERMISSIONS"
  | "QUESTION_FROM_WRONG_SCHEMA"
  | "ALREADY_ANSWERED"
  | "NOT_ALLOWED";

/** 400 with `details` naming each field's codes, e.g. `{"answers": ["TOO_MANY"]}`. */
export function chatInvalid(details: FieldErrors, message = "Validation failed"): ApiError {
  return new ApiError("bad_request", message, details);
}

/** 403 with the code on the field that caused it, e.g. `{"text": ["THREAD_IS_CLOSED"]}`. */
export function chatForbidden(field: string, code: ChatCode, message: string): ApiError {
  return new ApiError("forbidden", message, { [field]: [code] });
}

/**
 * Collects field codes; `throwIfAny` raises them all at once as a 400. Field names can be a
 * client's keys (`constructor`, `__proto__`): they are kept in a Map, and `errors` is built from
 * its entries, so no name finds or replaces anything of Object.prototype.
 */
export class FieldCodes {
  private readonly byField = new Map<string, string[]>();

  add(field: string, code: string): void {
    const list = this.byField.get(field) ?? [];
    if (!list.includes(code)) list.push(code);
    this.byField.set(field, list);
  }

  merge(other: FieldErrors): void {
    for (const [field, codes] of Object.entries(other)) for (const c of codes) this.add(field, c);
  }

  get errors(): FieldErrors {
    return Object.fromEntries(this.byField);
  }

  get empty(): boolean {
    return this.byField.size === 0;
  }

  throwIfAny(): void {
    if (!this.empty) throw chatInvalid(this.errors);
  }
}
