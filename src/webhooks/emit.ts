import { badRequest, fieldErrors } from "../errors";
import { ADMIN_OWNER } from "./access";
import { recordAndEnqueue, type WaitUntil } from "./event-writer";
import { findEventType } from "./registry";

/** dj-whisperer's event uuids are hex without dashes. */
export function newEventUuid(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/**
 * Records a domain event and enqueues one delivery per active hook of its type (for a built-in
 * type, per active hook of the admin's). Call it after your own D1 write. Idempotent on
 * `eventUuid`: the same uuid is recorded and delivered once. Returns the event's uuid. Unknown
 * types and data that does not match the type's schema are a 400 (`ApiError`), and nothing is
 * recorded.
 *
 * The event and its deliveries are in D1 before anything is enqueued; if enqueueing fails the
 * cron scan sends them later, so a delivery is never lost. Concurrent emits share one D1
 * transaction (`event-writer.ts`); pass the request's `ctx` so a shared write outlives a caller
 * whose client went away.
 */
export async function emit(
  env: Env,
  eventType: string,
  data: unknown,
  eventUuid: string = newEventUuid(),
  ctx?: WaitUntil,
): Promise<string> {
  const type = await findEventType(env, eventType);
  if (!type) {
    throw badRequest(`Unknown webhook event type '${eventType}'`, {
      event_type: ["Unknown event type"],
    });
  }
  const parsed = type.data.safeParse(data);
  if (!parsed.success) {
    const details = Object.fromEntries(
      Object.entries(fieldErrors(parsed.error)).map(([key, problems]) => [
        key === "body" ? "data" : `data.${key}`,
        problems,
      ]),
    );
    throw badRequest(`Invalid data for event type '${eventType}'`, details);
  }
  const payloadData = type.serialize ? type.serialize(parsed.data) : parsed.data;
  await recordAndEnqueue(
    env,
    {
      uuid: eventUuid,
      eventType,
      data: JSON.stringify(payloadData),
      // Built-in types carry many users' data: only the admin's hooks get them.
      onlyOwner: type.builtin ? ADMIN_OWNER : undefined,
    },
    ctx,
  );
  return eventUuid;
}
