import { ANONYMOUS, type Caller } from "../auth/caller";

/** Headers the Worker sets when it hands a request to a room; rooms are not reachable otherwise. */
export const ROOM_ID_HEADER = "X-Switchboard-Room";
const CALLER_HEADER = "X-Switchboard-Caller";

/**
 * Hands a request to a room's Durable Object with the room id and the resolved caller.
 * The caller was authenticated by the Worker; client-sent copies of these headers are replaced.
 */
export function forwardToRoom(
  stub: DurableObjectStub,
  request: Request,
  roomId: string,
  caller: Caller,
): Promise<Response> {
  const headers = new Headers(request.headers);
  headers.set(ROOM_ID_HEADER, roomId);
  // URI-encoded: header values must be ASCII, user names need not be.
  headers.set(CALLER_HEADER, encodeURIComponent(JSON.stringify(caller)));
  return stub.fetch(
    new Request(request.url, { method: request.method, headers, body: request.body }),
  );
}

export function callerFromHeaders(headers: Headers): Caller {
  const raw = headers.get(CALLER_HEADER);
  return raw ? (JSON.parse(decodeURIComponent(raw)) as Caller) : ANONYMOUS;
}
