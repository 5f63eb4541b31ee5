import { z } from "zod";

/**
 * JSON-Schema-able twins of the shared events' data in `base-events.ts` (which stays free of zod,
 * so the SDK and the poker page can import its names at runtime). `server-events.ts` checks at
 * compile time that each schema's output is exactly the declared type.
 */

const Status = z.number().int().min(100).max(599).meta({ description: "An HTTP-like status" });
const Errors = z
  .array(z.string())
  .meta({ description: "Human-readable reasons, each naming its field" });
const Instant = z.string().meta({ format: "date-time" });

export const ErrorDataSchema = z
  .object({ status: Status, errors: Errors })
  .meta({ id: "ErrorData", description: "Why a frame without `request_id` was refused" });

export const TokenExpiringDataSchema = z
  .object({
    expires_at: Instant.meta({ description: "When the socket's credential ends unless refreshed" }),
  })
  .meta({ id: "TokenExpiringData" });

export const AuthReplySchema = z
  .object({
    expires_at: Instant.nullable().meta({
      description: "When the new credential ends; null for an API key without expiry",
    }),
  })
  .meta({ id: "AuthReply" });
