/**
 * Coalesced frames (`?batch=1`, any room kind): a socket that connects with the flag receives
 * the frames produced for it in one delivery pass (a group commit of several messages, a batch
 * publish, a resume replay) as ONE text frame holding a JSON array of those frames, in order. A
 * pass with a single frame sends the plain object, as without the flag.
 *
 * It imports nothing: the server, the SDK and the poker page share it without zod.
 */

/** The query parameter, and the value that asks for arrays. */
export const BATCH_PARAM = "batch";
export const BATCH_ON = "1";

/**
 * Past this many characters an array is closed and the next one started: one frame stays well
 * under what WebSocket peers accept, however long a replay is.
 */
export const MAX_BATCH_CHARS = 512 * 1024;

/**
 * Serialised frames → the texts to send: one frame as itself, several as JSON arrays (each of
 * at most MAX_BATCH_CHARS unless a single frame is longer), in order.
 */
export function packFrames(texts: string[]): string[] {
  if (texts.length <= 1) return texts;
  const out: string[] = [];
  let group: string[] = [];
  let chars = 0;
  const close = () => {
    if (group.length) out.push(group.length === 1 ? (group[0] as string) : `[${group.join(",")}]`);
    group = [];
    chars = 0;
  };
  for (const text of texts) {
    if (group.length && chars + text.length + 1 > MAX_BATCH_CHARS) close();
    group.push(text);
    chars += text.length + 1;
  }
  close();
  return out;
}

/** A parsed text frame → the frames it carries (an array's items, else itself). */
export function unpackFrames(parsed: unknown): unknown[] {
  return Array.isArray(parsed) ? parsed : [parsed];
}
