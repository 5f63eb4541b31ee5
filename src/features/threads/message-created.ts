import { type SQL, sql } from "drizzle-orm";
import type { NewEvent } from "../webhooks";
import { prepareEvent } from "../webhooks";

/**
 * The first 16 hex digits of every `thread.message_created` uuid (from the type's name, with
 * the UUIDv8 version digit); the variant digit and the message id in hex follow.
 */
const UUID_PREFIX = "583de9bd75608881";

/**
 * The uuid of a message's `thread.message_created`: hex without dashes like every event uuid,
 * laid out as an RFC 9562 UUIDv8 built from the message id (ids are unique across threads). The
 * message's own batch computes the same in SQL, so it is known again from the id alone.
 */
export function messageCreatedUuid(messageId: number): string {
  return `${UUID_PREFIX}8${messageId.toString(16).padStart(15, "0")}`;
}

/** What a message is announced with, before it is stored. */
export interface MessageCreatedInput {
  senderId: string | null;
  type: string;
  text: string;
}

/**
 * `thread.message_created` for a message not stored yet, checked against the type now (a 400
 * refuses the post before its write). Gives the event for the message's own batch, where its id
 * is the SQL that batch computes it with.
 */
export async function messageCreatedEvent(
  env: Env,
  threadId: string,
  message: MessageCreatedInput,
): Promise<(id: SQL) => NewEvent> {
  const event = await prepareEvent(env, "thread.message_created", {
    thread_id: threadId,
    message_id: 0,
    sender_id: message.senderId,
    type: message.type,
    text: message.text,
  });
  return (id) => ({
    ...event,
    uuid: sql`printf('%s8%015x', ${UUID_PREFIX}, ${id})`,
    data: sql`json_set(${event.data}, '$.message_id', ${id})`,
  });
}
