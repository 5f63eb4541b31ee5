import { busStub } from "../rooms/bus-channel";
import { ChannelName, DbName } from "./channels";
import { MessageInput } from "./wire";

/** Attempts for a publish whose answer was lost to a Durable Object reset. */
const ATTEMPTS = 3;

/**
 * Publishes `message` on `channel` of namespace `db`; the message is stored durably when this
 * resolves. Retries on a transient Durable Object error with the same publish key, so a retry
 * after a lost answer never stores the message twice.
 */
export async function publishToBus(
  env: Env,
  db: string,
  channel: string,
  message: { type: string } & Record<string, unknown>,
): Promise<{ message_id: string }> {
  const name = DbName.parse(db);
  const target = ChannelName.parse(channel);
  const body = MessageInput.parse(message);
  const key = crypto.randomUUID();
  for (let attempt = 1; ; attempt++) {
    try {
      return await busStub(env, name).publishMessage(name, target, body, key);
    } catch (err) {
      if (attempt >= ATTEMPTS || !isRetryable(err)) throw err;
    }
  }
}

/** Durable Object errors the runtime marks as safe to retry (e.g. the object was reset). */
export function isRetryable(err: unknown): boolean {
  return (
    typeof err === "object" && err !== null && (err as { retryable?: unknown }).retryable === true
  );
}
