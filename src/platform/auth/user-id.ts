// Adds .openapi() to zod's schemas (extendZodWithOpenApi) before this module runs.
import "@hono/zod-openapi";
import { z } from "zod";

/**
 * User ids (contract §1): 1–128 characters of `A-Z a-z 0-9 . _ @ + -`. The charset keeps ids
 * safe wherever they are embedded: channel names (`user:<id>`), hibernation tags, headers, logs.
 */
export const USER_ID_PATTERN = /^[A-Za-z0-9._@+-]{1,128}$/;

export const UserId = z
  .string()
  // The pattern bounds the length too; min/max also put it in the OpenAPI document.
  .min(1)
  .max(128)
  .regex(USER_ID_PATTERN, "must be 1–128 characters of A-Z a-z 0-9 . _ @ + -")
  .openapi({ example: "u1", description: "1–128 characters of `A-Z a-z 0-9 . _ @ + -`" });

/** A user's display name: 1–200 characters of text. */
export const UserName = z.string().min(1).max(200);

export function isUserId(value: string): boolean {
  return USER_ID_PATTERN.test(value);
}
