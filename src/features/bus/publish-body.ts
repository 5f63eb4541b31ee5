import { z } from "zod";
import { ApiError, type FieldErrors, fieldErrors, forbidden } from "../../platform/errors";
import { MAX_FRAME_BYTES } from "../../protocol";
import { ChannelName, isReservedChannel } from "./channels";
import { MessageInput } from "./wire";

/** A batch publish holds 1 to this many messages. */
export const MAX_BATCH_MESSAGES = 100;

const OneMessage = z.object({
  channel: ChannelName.openapi({ example: "orders.eu" }),
  message: MessageInput,
});
export type OneMessage = z.infer<typeof OneMessage>;

// Strict, both forms: a body with `channel` and `messages` is neither (400), not whichever parses.
const Single = OneMessage.strict().openapi("BusPublish");

const Batch = z
  .object({
    messages: z
      .array(OneMessage)
      .min(1)
      .max(MAX_BATCH_MESSAGES)
      .openapi({ description: "Stored in one commit, all or none, and delivered in this order" }),
  })
  .strict()
  .openapi("BusPublishBatch");

/** `POST /api/bus/:db/publish`: one message, or a batch of 1–100. */
export const PublishBody = z.union([Single, Batch]);

export const Published = z.object({ message_id: z.string() }).openapi("BusPublished");
export const PublishedBatch = z
  .object({ message_ids: z.array(z.string()).openapi({ description: "In the batch's order" }) })
  .openapi("BusPublishedBatch");

/**
 * Field errors of a refused publish body. A body that fails both forms would be reported as
 * one "invalid union" on the body; the form it was meant as (`messages` present: a batch) is
 * reported instead, so a bad item is named `messages.<i>.<field>`.
 */
export function publishFieldErrors(error: z.ZodError, input: unknown): FieldErrors {
  const batch = typeof input === "object" && input !== null && "messages" in input;
  const issues = error.issues.flatMap((issue) =>
    issue.code === "invalid_union" && issue.path.length === 0
      ? (issue.errors[batch ? 1 : 0] ?? [issue])
      : [issue],
  );
  return fieldErrors(new z.ZodError(issues as z.core.$ZodIssue[]));
}

/**
 * What the schema cannot say, checked for every message before any is stored: `user:` and
 * `client:` channels are notify's (403), a message is at most 64 KiB (413). `prefix` names the
 * item in `details` (`messages.<i>.`), empty for the single form.
 */
export function checkMessage({ channel, message }: OneMessage, prefix: string): void {
  if (isReservedChannel(channel)) {
    throw forbidden("user: and client: channels are written only by notify", {
      [`${prefix}channel`]: [channel],
    });
  }
  if (new TextEncoder().encode(JSON.stringify(message)).byteLength > MAX_FRAME_BYTES) {
    throw new ApiError("payload_too_large", "A bus message may not exceed 64 KiB", {
      [`${prefix}message`]: ["over 64 KiB"],
    });
  }
}
