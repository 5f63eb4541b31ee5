import { z } from "@hono/zod-openapi";

/** What a publisher sends: a `type` plus any JSON fields (Tryton's message dictionary). */
export const MessageInput = z
  .looseObject({ type: z.string().min(1).max(200) })
  .openapi("BusMessageInput", { example: { type: "order_shipped", order: "SO-1" } });

export type MessageInput = z.infer<typeof MessageInput>;

/** A delivered message: the publisher's fields plus the `message_id` the bus assigned. */
export const DeliveredMessage = z
  .looseObject({ message_id: z.string(), type: z.string() })
  .openapi("BusMessage");

export type DeliveredMessage = z.infer<typeof DeliveredMessage>;

/** One long-poll answer (and the `data` of a WebSocket `message` event / an SSE event). */
export const PollAnswer = z
  .object({
    channel: z.string().nullable(),
    message: DeliveredMessage.nullable(),
    gap: z
      .literal(true)
      .optional()
      .openapi({ description: "Set when `last_message` was unknown or messages after it expired" }),
  })
  .openapi("BusPollAnswer");

export type PollAnswer = z.infer<typeof PollAnswer>;

export const NOTHING: PollAnswer = { channel: null, message: null };

/** A stored message addressed to one channel. */
export interface Delivery {
  seq: number;
  channel: string;
  message: DeliveredMessage;
}

export function answerOf(delivery: Delivery, gap: boolean): PollAnswer {
  const answer: PollAnswer = { channel: delivery.channel, message: delivery.message };
  if (gap) answer.gap = true;
  return answer;
}
