import { z } from "@hono/zod-openapi";
import type { Caller } from "../../auth/caller";
import type { PostKey } from "../../db/queries/threads-keys";
import { ApiError } from "../../errors";
import type { PostMessageInput } from "./inputs";

export const IDEMPOTENCY_HEADER = "idempotency-key";

/**
 * `Idempotency-Key` of `POST /api/threads/:id/messages`: 1–255 visible ASCII characters, bare
 * (as Stripe and Svix send it; no `"`) or as the IETF draft's quoted structured-field string.
 */
export const IdempotencyKeyHeader = z
  .string()
  .regex(/^(?:"[\x20\x21\x23-\x5b\x5d-\x7e]{1,255}"|[\x21\x23-\x7e]{1,255})$/)
  .openapi({ example: "8e03978e-40d5-43e8-bc93-6894a57f9324" });

/** The key as stored: whose it is, the key without its quotes, and the body's fingerprint. */
export async function postKeyOf(
  caller: Caller,
  header: string,
  input: PostMessageInput,
): Promise<PostKey> {
  const key = header.startsWith('"') ? header.slice(1, -1) : header;
  const body = new TextEncoder().encode(JSON.stringify(input));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  return {
    caller: caller.kind === "user" ? `user:${caller.user.id}` : caller.kind,
    key,
    fingerprint: [...digest].map((b) => b.toString(16).padStart(2, "0")).join(""),
  };
}

/** The IETF draft's answer to a key reused with another payload: 422. */
export function keyReused(): ApiError {
  return new ApiError(
    "unprocessable",
    "This Idempotency-Key was already used with a different request body",
    { [IDEMPOTENCY_HEADER]: ["REUSED_WITH_ANOTHER_BODY"] },
  );
}
