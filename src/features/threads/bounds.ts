// Adds .openapi() to zod's schemas (extendZodWithOpenApi) before this module runs.
import "@hono/zod-openapi";
import { z } from "zod";
import { ApiError } from "../../platform/errors";

/**
 * The size bounds of a chat message: a message's `text` at most 16 KiB, its `meta` at most
 * 8 KiB as JSON, at most 10 attachments of at most 8 KiB as JSON each, the whole message at
 * most 64 KiB as JSON. Sizes are UTF-8 bytes. They keep one member from storing what its
 * thread's room could not publish.
 */
export const MAX_TEXT_BYTES = 16 * 1024;
export const MAX_META_BYTES = 8 * 1024;
export const MAX_ATTACHMENTS = 10;
export const MAX_ATTACHMENT_BYTES = 8 * 1024;
export const MAX_MESSAGE_BYTES = 64 * 1024;

const utf8 = new TextEncoder();

/** The UTF-8 size of a value's JSON. */
export function jsonBytes(value: unknown): number {
  return utf8.encode(JSON.stringify(value) ?? "").byteLength;
}

function withinBytes(max: number) {
  return (text: string) => text.length <= max / 3 || utf8.encode(text).byteLength <= max;
}

/** A message text: 16 KiB of UTF-8 (so at most 16,384 characters). */
export const MessageText = z
  .string()
  .max(MAX_TEXT_BYTES)
  .refine(withinBytes(MAX_TEXT_BYTES), { message: "text is over 16 KiB" })
  .openapi({ description: "At most 16 KiB (16,384 bytes) of UTF-8; stored HTML-escaped" });

/**
 * A client's free-form JSON object (a message's `meta`, an attachment's `options`), rebuilt from
 * its own keys: zod assigns record keys one by one, and a `__proto__` key would set the result's
 * prototype to the client's value instead of being a key. It is dropped, never inherited.
 */
export const FreeObject = z
  .record(z.string(), z.unknown())
  .transform((value) => Object.fromEntries(Object.entries(value)));

/** A message's `meta`: any JSON object of at most 8 KiB. */
export const MessageMeta = FreeObject.refine((meta) => jsonBytes(meta) <= MAX_META_BYTES, {
  message: "meta is over 8 KiB",
}).openapi({ description: "Any JSON object of at most 8 KiB (8,192 bytes) as JSON" });

/** 413 for a message over MAX_MESSAGE_BYTES as JSON, whatever its fields' own bounds. */
export function checkMessageSize(message: unknown): void {
  if (jsonBytes(message) <= MAX_MESSAGE_BYTES) return;
  throw new ApiError("payload_too_large", "The message is over 64 KiB as JSON", {
    non_field_errors: ["WRONG_VALUE"],
  });
}
