import { ANONYMOUS, type Caller } from "../platform/auth/caller";
import { SHARD_HEADER } from "./shard-protocol";

/** Headers the Worker sets when it hands a request to a room; rooms are not reachable otherwise. */
export const ROOM_ID_HEADER = "X-Switchboard-Room";
/** The room's kind (`/ws/<kind>/…`), so a room knows what it reports itself as (contract §9). */
export const ROOM_KIND_HEADER = "X-Switchboard-Room-Kind";
const CALLER_HEADER = "X-Switchboard-Caller";
const ADMISSION_HEADER = "X-Switchboard-Admission";

/**
 * Hands a request to a room's Durable Object with the room id, the resolved caller and what the
 * Worker decided at admission (as JSON, so lists arrive as the arrays they were). The caller was
 * authenticated by the Worker; client-sent copies of these headers are replaced or removed.
 */
export function forwardToRoom(
  stub: DurableObjectStub,
  request: Request,
  roomId: string,
  caller: Caller,
  admission?: unknown,
  kind?: string,
): Promise<Response> {
  const headers = new Headers(request.headers);
  headers.set(ROOM_ID_HEADER, roomId);
  // Only a room names one of its shards; a client's copy would turn the room into a shard.
  headers.delete(SHARD_HEADER);
  if (kind === undefined) headers.delete(ROOM_KIND_HEADER);
  else headers.set(ROOM_KIND_HEADER, kind);
  // URI-encoded: header values must be ASCII, user names need not be.
  headers.set(CALLER_HEADER, encodeURIComponent(JSON.stringify(caller)));
  if (admission === undefined) headers.delete(ADMISSION_HEADER);
  else headers.set(ADMISSION_HEADER, encodeURIComponent(JSON.stringify(admission)));
  return stub.fetch(
    new Request(request.url, { method: request.method, headers, body: request.body }),
  );
}

export function callerFromHeaders(headers: Headers): Caller {
  const raw = headers.get(CALLER_HEADER);
  return raw ? (JSON.parse(decodeURIComponent(raw)) as Caller) : ANONYMOUS;
}

/** What the Worker's `admit` returned for this request (undefined when it returned nothing). */
export function admissionFromHeaders(headers: Headers): unknown {
  const raw = headers.get(ADMISSION_HEADER);
  return raw ? JSON.parse(decodeURIComponent(raw)) : undefined;
}
