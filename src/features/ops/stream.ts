import { page } from "../../platform/http/router";
import * as time from "../../platform/time";
import { webhookStats } from "../webhooks";
import { recentErrorPage } from "./errors";
import { liveRoomPage, roomTotals } from "./queries";

/** As often as the console polled before; the stats lag 10 s anyway (contract §9). */
export const CONSOLE_TICK_MS = 5_000;
/** A stream ends after this long and EventSource reconnects, so no Worker invocation runs for hours. */
const STREAM_LIFETIME_MS = 10 * 60 * 1000;
/** Rooms and errors per event: the console's first page. */
const PAGE = 50;

const encoder = new TextEncoder();

function sse(event: string, data: unknown): Uint8Array {
  return encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** The /api/stats answer, shared by the route and the stream. */
export async function consoleStats(env: Env) {
  const [totals, hooks] = await Promise.all([roomTotals(env.DB), webhookStats(env)]);
  return { ...totals, webhooks: hooks, generated_at: time.nowIso() };
}

/**
 * The console's live feed: `stats` and `rooms` every tick, `errors` only when new ones were
 * stored since the last (the first tick sends the newest page, even an empty one). Reads D1 only, so no room is
 * woken; a write failing means the client left, and the loop stops.
 */
export function consoleStream(env: Env): ReadableStream<Uint8Array> {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const loop = async () => {
    const until = time.now() + STREAM_LIFETIME_MS;
    /** -1 until the first tick; then the newest error id sent (0: none yet). */
    let lastErrorId = -1;
    await writer.write(encoder.encode(`retry: ${CONSOLE_TICK_MS}\n\n`));
    while (time.now() < until) {
      const [stats, rooms, errors] = await Promise.all([
        consoleStats(env),
        liveRoomPage(env.DB, undefined, PAGE, 0),
        recentErrorPage(env.DB, PAGE, 0, lastErrorId),
      ]);
      await writer.write(sse("stats", stats));
      await writer.write(sse("rooms", page(rooms, PAGE, 0)));
      // The first tick always tells the errors, even none, so the page can say "none".
      if (errors.length || lastErrorId === -1) {
        lastErrorId = errors[0]?.id ?? 0;
        await writer.write(sse("errors", page(errors, PAGE, 0)));
      }
      await new Promise((resolve) => setTimeout(resolve, CONSOLE_TICK_MS));
    }
    await writer.close();
  };
  loop().catch(() => writer.abort().catch(() => undefined));
  return readable;
}
