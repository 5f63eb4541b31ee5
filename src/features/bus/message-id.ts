/**
 * A bus message id is `<bus tag>-<seq>`.
 *
 * `seq` is the message's position in its namespace's ONE sequence, assigned by the namespace's
 * BusChannel object in the same SQLite write that stores the message. Every channel of a `:db`
 * shares that sequence, so one id is a cursor on all channels at once: "the next message after
 * `last_message` on channels C" is the lowest stored `seq` above it on C.
 *
 * `tag` is random per namespace store (created with its first message): an id from another
 * namespace, or from a store that was lost, is recognised as foreign instead of being read as
 * a position.
 */
export interface MessageId {
  tag: string;
  seq: number;
}

const PATTERN = /^([0-9a-f]{12})-([1-9][0-9]{0,15})$/;

export function formatMessageId(id: MessageId): string {
  return `${id.tag}-${id.seq}`;
}

/** The id's parts, or null when it is not one of ours at all. */
export function parseMessageId(value: string): MessageId | null {
  const match = PATTERN.exec(value);
  if (!match) return null;
  const seq = Number(match[2]);
  return Number.isSafeInteger(seq) ? { tag: match[1] as string, seq } : null;
}

/** A fresh store tag: 48 random bits, hex. */
export function newBusTag(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
