import * as time from "../../platform/time";
import { ROOM_ID_HEADER, ROOM_KIND_HEADER } from "../../realtime/forward";
import {
  BUS_STREAM_URL,
  busShardStub,
  busStub,
  type PollRequest,
  type StreamRequest,
} from "./bus-channel";
import { SSE_HEARTBEAT_MS } from "./sse";
import { endWhenSilent } from "./watchdog";
import { NOTHING, type PollAnswer } from "./wire";

/** Pause before asking a reset object again. */
const RETRY_PAUSE_MS = 50;

/**
 * A long poll, parked in the namespace's BusChannel (by RPC). A poll only reads, so when the
 * object is reset under it (deploy, eviction) it is asked again of the new instance with the
 * same cursor until its deadline: the messages are in storage, nothing is lost or repeated.
 * An error the object's own code throws (`remote`, e.g. a refused request) is final: asking
 * again would only loop until the deadline. When the client leaves (`signal`), the parked poll
 * is cancelled at once (`waitUntil` keeps that call alive after the request ended), so it frees
 * its slot.
 */
export async function pollBus(
  env: Env,
  db: string,
  poll: PollRequest,
  signal: AbortSignal,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<PollAnswer> {
  if (signal.aborted) return NOTHING;
  const deadline = time.now() + poll.timeout_ms;
  const pollId = crypto.randomUUID();
  // The namespace's object, or the shard it hands the poll to when it holds enough listeners.
  let shard: number | undefined;
  const stub = () => (shard === undefined ? busStub(env, db) : busShardStub(env, db, shard));
  const cancel = () =>
    waitUntil(
      stub()
        .cancelPoll(pollId)
        .catch(() => undefined),
    );
  signal.addEventListener("abort", cancel, { once: true });
  try {
    for (;;) {
      const timeout_ms = Math.max(0, deadline - time.now());
      try {
        const answer = await stub().pollMessage(db, { ...poll, timeout_ms }, pollId, shard);
        if ("shard" in answer) {
          shard = answer.shard;
          continue;
        }
        return answer;
      } catch (err) {
        if (signal.aborted || thrownByObject(err) || deadline - time.now() <= RETRY_PAUSE_MS) {
          throw err;
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
      }
    }
  } finally {
    signal.removeEventListener("abort", cancel);
  }
}

/** Thrown by the object's code, as opposed to its reset or the network. */
function thrownByObject(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { remote?: unknown }).remote === true;
}

/**
 * An SSE response from the namespace's BusChannel, replaying after `last_message` first. The
 * authorised channels go to the object as a JSON array. The stream ends when two heartbeats are
 * missed, so the client reconnects with `Last-Event-ID`.
 */
export async function streamBus(env: Env, db: string, stream: StreamRequest): Promise<Response> {
  const res = await busStub(env, db).fetch(BUS_STREAM_URL, {
    method: "POST",
    // The namespace names its shards after the room id (contract §10).
    headers: {
      "Content-Type": "application/json",
      [ROOM_ID_HEADER]: db,
      [ROOM_KIND_HEADER]: "bus",
    },
    body: JSON.stringify(stream),
  });
  if (!res.ok || !res.body) return res;
  return new Response(endWhenSilent(res.body, 2 * SSE_HEARTBEAT_MS), {
    status: res.status,
    headers: res.headers,
  });
}
