import { z } from "zod";

/**
 * The bus's wire shapes: what a publisher sends, what a long poll answers, and the one server
 * event of `/ws/bus/:db` (`message`, whose data is a poll answer). The bus socket takes no
 * client events: it only listens.
 */

/** What a publisher sends: a `type` plus any JSON fields (Tryton's message dictionary). */
export const MessageInput = z
  .looseObject({ type: z.string().min(1).max(200) })
  .meta({ id: "BusMessageInput", example: { type: "order_shipped", order: "SO-1" } });

export type MessageInput = z.infer<typeof MessageInput>;

/** A delivered message: the publisher's fields plus the `message_id` the bus assigned. */
export const DeliveredMessage = z
  .looseObject({ message_id: z.string(), type: z.string() })
  .meta({ id: "BusMessage" });

export type DeliveredMessage = z.infer<typeof DeliveredMessage>;

/** One long-poll answer (and the `data` of a WebSocket `message` event / an SSE event). */
export const PollAnswer = z
  .object({
    channel: z.string().nullable(),
    message: DeliveredMessage.nullable(),
    gap: z
      .literal(true)
      .optional()
      .meta({ description: "Set when `last_message` was unknown or messages after it expired" }),
  })
  .meta({ id: "BusPollAnswer" });

export type PollAnswer = z.infer<typeof PollAnswer>;

export const busClientEvents = {};

export interface BusServerEvents {
  message: PollAnswer;
}
