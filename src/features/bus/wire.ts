import type { DeliveredMessage, PollAnswer } from "../../protocol/bus";

/** The wire shapes live in the protocol module (the SDK reads them too). */
export { DeliveredMessage, MessageInput, PollAnswer } from "../../protocol/bus";

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
