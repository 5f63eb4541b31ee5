import type { WaitUntil } from "./event-writer";
import { newEventUuid, prepareEvent, recordAndDispatch } from "./outbox";

/**
 * Emits an event after the caller's own write: superseded by the outbox (`./outbox.ts`), which
 * records events in the write's own transaction. Kept only until its last callers move there.
 */
export async function emit(
  env: Env,
  eventType: string,
  data: unknown,
  eventUuid: string = newEventUuid(),
  ctx?: WaitUntil,
): Promise<string> {
  await recordAndDispatch(env, await prepareEvent(env, eventType, data, eventUuid), ctx);
  return eventUuid;
}
