import { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { badRequest, type FieldErrors, fieldErrors } from "../errors";

/** How a router names the fields of a zod failure; `input` is the value that was validated. */
export type FieldErrorRenderer = (error: z.ZodError, input: unknown) => FieldErrors;

/**
 * Every area's router: zod validation failures become the contract's 400 naming the fields,
 * with zod's messages unless the area renders them its own way (the chat routes' codes).
 */
export function createRouter(options: { fieldErrors?: FieldErrorRenderer } = {}) {
  const render = options.fieldErrors ?? fieldErrors;
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (result.success) return;
      // @hono/zod-validator passes the validated value along with a failure, too.
      const input = "data" in result ? result.data : undefined;
      throw badRequest("Validation failed", render(result.error, input));
    },
  });
}

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "bad_request" }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error");

const ERROR_DESCRIPTIONS = {
  400: "Invalid input; `details` names the fields",
  401: "Missing, invalid or expired token",
  403: "Not allowed for this caller",
  404: "Not found",
  409: "Conflict with the current state",
  410: "Gone",
  413: "Payload too large",
  422: "Unprocessable",
  429: "Rate limited",
} as const;

type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

/** OpenAPI response entries for the given error statuses, all in the contract's error shape. */
export function errorResponses(...statuses: ErrorStatus[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: ERROR_DESCRIPTIONS[s],
        content: { "application/json": { schema: ErrorSchema } },
      },
    ]),
  ) as Record<
    ErrorStatus,
    { description: string; content: { "application/json": { schema: typeof ErrorSchema } } }
  >;
}

/** A JSON request body entry for `createRoute`. */
export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return { required: true, description, content: { "application/json": { schema } } };
}

/** A JSON response entry for `createRoute`. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** `?limit=` (default 50, max 200) and `?offset=` of every list (contract §1). */
export const PaginationQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ example: 50 }),
  offset: z.coerce.number().int().min(0).default(0).openapi({ example: 0 }),
});

export function listOf<T extends z.ZodType>(item: T) {
  return z.object({ results: z.array(item), next: z.number().int().nullable() });
}

/**
 * One page from rows fetched with `limit + 1`: the extra row only tells whether there is a next
 * page, so lists never need a COUNT (the chat API's no-count pagination).
 */
export function page<T>(
  rows: T[],
  limit: number,
  offset: number,
): { results: T[]; next: number | null } {
  return {
    results: rows.slice(0, limit),
    next: rows.length > limit ? offset + limit : null,
  };
}

export const bearerSecurity = [{ bearer: [] }];
