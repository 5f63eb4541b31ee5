import type { PreparedEvent } from "../webhooks";
import { busStub } from "./bus-channel";
import { ChannelName, DbName } from "./channels";
import { MessageInput } from "./wire";

/** Attempts for a publish whose answer was lost (the object was reset, the network broke). */
const ATTEMPTS = 3;
const RETRY_PAUSE_MS = 50;

/**
 * Publishes `message` on `channel` of namespace `db`; the message (and `event`, the webhook
 * event announcing it, which the namespace's outbox then records in D1) is stored durably when
 * this resolves. A failed call is retried with the same publish key: whether or not the lost
 * attempt was stored, the message and its event are stored once.
 */
export async function publishToBus(
  env: Env,
  db: string,
  channel: string,
  message: { type: string } & Record<string, unknown>,
  event?: PreparedEvent,
): Promise<{ message_id: string }> {
  const name = DbName.parse(db);
  const target = ChannelName.parse(channel);
  const body = MessageInput.parse(message);
  const key = crypto.randomUUID();
  return withRetries(() => busStub(env, name).publishMessage(name, target, body, key, event));
}

/**
 * Publishes `messages` (a batch publish) in one commit of namespace `db`, in order: all stored
 * when this resolves, or none. Retried with the same key as `publishToBus` is.
 */
export async function publishManyToBus(
  env: Env,
  db: string,
  messages: { channel: string; message: { type: string } & Record<string, unknown> }[],
): Promise<{ message_ids: string[] }> {
  const name = DbName.parse(db);
  const batch = messages.map(({ channel, message }) => ({
    channel: ChannelName.parse(channel),
    message: MessageInput.parse(message),
  }));
  const key = crypto.randomUUID();
  return withRetries(() => busStub(env, name).publishMessages(name, batch, key));
}

/** Runs a keyed publish again after a failure: the key makes a repeat store nothing twice. */
async function withRetries<T>(attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS * n));
    }
  }
}
