import type { MessageRow } from "../../db/queries/threads";
import { emit } from "../../webhooks/emit";

/**
 * Emits `thread.message_created` for a stored message. The event uuid is derived from the
 * message, so announcing a message again (a publish replayed after an eviction, a post retried
 * with its `Idempotency-Key`) records and delivers the event once.
 */
export async function emitMessageCreated(
  env: Env,
  threadId: string,
  row: MessageRow,
): Promise<void> {
  try {
    await emit(
      env,
      "thread.message_created",
      {
        thread_id: threadId,
        message_id: row.id,
        sender_id: row.senderId,
        type: row.type,
        text: row.text,
      },
      await messageCreatedUuid(threadId, row.id),
    );
  } catch (err) {
    console.error(`thread ${threadId}: emitting thread.message_created failed`, err);
  }
}

/** Hex without dashes like every event uuid, laid out as an RFC 9562 UUIDv8 (hash based). */
export async function messageCreatedUuid(threadId: string, messageId: number): Promise<string> {
  const name = new TextEncoder().encode(`thread.message_created:${threadId}:${messageId}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", name)).slice(0, 16);
  digest[6] = (digest[6]! & 0x0f) | 0x80;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}
