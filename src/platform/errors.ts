import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ZodError } from "zod";

/** The contract's error codes (contract §1), keyed to their HTTP status. */
export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  unprocessable: 422,
  rate_limited: 429,
  internal: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Field name → list of problems (messages or the chat API's codes such as `TOO_MANY`). */
export type FieldErrors = Record<string, string[]>;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/** The one error type route and room code throws; `app.onError` and the rooms render it. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Headers the HTTP answer carries, such as `Retry-After` on a 429. */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }

  get status(): ContentfulStatusCode {
    return ERROR_STATUS[this.code];
  }

  toBody(): ErrorBody {
    const error: ErrorBody["error"] = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

export const badRequest = (message: string, details?: unknown) =>
  new ApiError("bad_request", message, details);
export const unauthorized = (message = "A valid token is required") =>
  new ApiError("unauthorized", message);
export const forbidden = (message = "You do not have permission to do this", details?: unknown) =>
  new ApiError("forbidden", message, details);
export const notFound = (what = "Resource") => new ApiError("not_found", `${what} not found`);
export const conflict = (message: string, details?: unknown) =>
  new ApiError("conflict", message, details);

/** Zod issues as `{ "a.b": ["message"] }`; the root is named `body`. */
export function fieldErrors(error: ZodError): FieldErrors {
  // Paths can be a client's keys (`constructor`, `__proto__`): a Map, then its entries.
  const out = new Map<string, string[]>();
  for (const issue of error.issues) {
    const key = issue.path.length ? issue.path.join(".") : "body";
    const list = out.get(key) ?? [];
    list.push(issue.message);
    out.set(key, list);
  }
  return Object.fromEntries(out);
}

export function validationError(error: ZodError, message = "Validation failed"): ApiError {
  return badRequest(message, fieldErrors(error));
}

const CODE_BY_STATUS = new Map<number, ErrorCode>(
  Object.entries(ERROR_STATUS).map(([code, status]) => [status, code as ErrorCode]),
);

/** Turns anything thrown into an ApiError; unknown errors become `internal` (logged by the caller). */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ZodError) return validationError(err);
  if (err instanceof HTTPException) {
    const code = CODE_BY_STATUS.get(err.status) ?? (err.status >= 500 ? "internal" : "bad_request");
    return new ApiError(code, err.message || "Request failed");
  }
  return new ApiError("internal", "Internal error");
}
