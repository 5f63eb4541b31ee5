/**
 * Records a domain event and enqueues one delivery per active hook (issue: outgoing webhooks).
 * Returns the event's uuid. Idempotent on `eventUuid`.
 */
export async function emit(
  _env: Env,
  _eventType: string,
  _data: unknown,
  eventUuid: string = crypto.randomUUID(),
): Promise<string> {
  return eventUuid;
}
