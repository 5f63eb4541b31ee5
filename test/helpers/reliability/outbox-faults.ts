import { env } from "cloudflare:test";
import { expect, vi } from "vitest";
import { scanUndelivered } from "../../../src/features/webhooks/scan";
import { ADMIN, call } from "../http";

/**
 * Faults between a stored change and the dispatch of its events, for the outbox fault tests.
 * The Worker and its Durable Objects share this isolate, so patching the prototype of a binding
 * reaches the copies a room holds in its own `env`.
 */

/** Whether an injected fault has happened (a test asserts it did). */
export interface Injected {
  fired: boolean;
}

type Batch = D1Database["batch"];
const d1 = Object.getPrototypeOf(env.DB) as { batch: Batch };

/**
 * The next D1 batch fails once: before it runs (`"before"`: nothing of it is stored) or after it
 * committed (`"after"`: the code after it never runs, as when the object is evicted there).
 * With `after: when`, only the first batch after which `when()` holds fails, once it committed.
 */
export function failNextBatch(
  mode: "before" | "after",
  when: () => Promise<boolean> = async () => true,
): Injected {
  const injected = { fired: false };
  const original = d1.batch;
  d1.batch = async function (this: D1Database, ...args: Parameters<Batch>) {
    if (mode === "before") {
      d1.batch = original;
      injected.fired = true;
      throw new Error("injected: D1 refused the batch");
    }
    const result = await original.apply(this, args);
    if (injected.fired || !(await when())) return result;
    d1.batch = original;
    injected.fired = true;
    throw new Error("injected: the object died after the commit");
  } as Batch;
  return injected;
}

type SendBatch = Queue["sendBatch"];
const queue = Object.getPrototypeOf(env.WEBHOOK_QUEUE) as { sendBatch: SendBatch };

/** The next Queue send (a dispatch) fails once. */
export function failNextQueueSend(): Injected {
  const injected = { fired: false };
  const original = queue.sendBatch;
  queue.sendBatch = (async () => {
    queue.sendBatch = original;
    injected.fired = true;
    throw new Error("injected: Queue unavailable");
  }) as SendBatch;
  return injected;
}

/** A receiver behind `fetch`: answers 200 and keeps each webhook POST's `webhook-id` per URL. */
export function receiver(): { ids: (url: string) => string[] } {
  const seen: { url: string; id: string | null }[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input as RequestInfo, init as RequestInit);
    seen.push({ url: req.url, id: req.headers.get("webhook-id") });
    return new Response("ok", { status: 200 });
  });
  return { ids: (url) => seen.filter((s) => s.url === url).map((s) => s.id ?? "") };
}

/** An admin hook on `eventType` at a fresh receiver URL. */
export async function adminHook(eventType: string): Promise<{ id: string; url: string }> {
  const url = `https://receiver.example/${crypto.randomUUID()}`;
  const res = await call("POST", "/api/webhooks", {
    token: ADMIN,
    body: { event_type: eventType, target_url: url },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id: res.body.id, url };
}

/** The uuids of the recorded events of a type whose data has `field` = `value`, in order. */
export async function recordedEvents(
  eventType: string,
  field: string,
  value: string,
): Promise<string[]> {
  const rows = await env.DB.prepare(
    "SELECT uuid FROM webhook_events WHERE event_type = ? AND json_extract(data, ?) = ? ORDER BY rowid",
  )
    .bind(eventType, `$.${field}`, value)
    .all<{ uuid: string }>();
  return rows.results.map((r) => r.uuid);
}

/**
 * The backstop (the cron's scan), then waits until the hook has no delivery left pending or
 * retrying; the receiver's POSTs are then final. The Queue consumer runs for real.
 */
export async function backstopAndSettle(hookId: string): Promise<void> {
  await scanUndelivered(env);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const open = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE webhook_id = ? AND status IN ('pending', 'retrying')",
    )
      .bind(hookId)
      .first<{ n: number }>();
    if (!open?.n) break;
    if (Date.now() > deadline) throw new Error(`hook ${hookId}: deliveries still open after 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // A second message for the same delivery (dispatch and scan both) would land by now.
  await new Promise((r) => setTimeout(r, 300));
}
