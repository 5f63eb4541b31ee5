import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, beforeEach, vi } from "vitest";
import { deliverWebhookBatch } from "../../src/features/webhooks/deliver";
import { newEventUuid, prepareEvent, recordAndDispatch } from "../../src/features/webhooks/outbox";
import { ADMIN, call, tokenFor } from "./http";

/** A Queue that records what is sent, so a test drives the consumer itself. */
export function recordingQueue() {
  const sent: { body: { delivery_id: number }; delaySeconds: number }[] = [];
  const queue = {
    send: async (body: { delivery_id: number }, options?: { delaySeconds?: number }) => {
      sent.push({ body, delaySeconds: options?.delaySeconds ?? 0 });
    },
    sendBatch: async (messages: { body: { delivery_id: number }; delaySeconds?: number }[]) => {
      for (const m of messages) sent.push({ body: m.body, delaySeconds: m.delaySeconds ?? 0 });
    },
  } as unknown as Queue;
  return { queue, sent };
}

/** The test env with a recording queue (and any other override). */
export function testEnv(overrides: Partial<Env> = {}) {
  const { queue, sent } = recordingQueue();
  return { env: { ...env, WEBHOOK_QUEUE: queue, ...overrides } as Env, sent };
}

/** Runs the consumer on one delivery message; returns the retry spy and the queue result. */
export async function consume(testEnvValue: Env, deliveryId: number) {
  const batch = createMessageBatch("switchboard-webhooks", [
    {
      id: crypto.randomUUID(),
      timestamp: new Date(),
      attempts: 1,
      body: { delivery_id: deliveryId },
    },
  ]);
  const message = batch.messages[0] as Message;
  const retry = vi.spyOn(message, "retry");
  const ack = vi.spyOn(message, "ack");
  const ctx = createExecutionContext();
  await deliverWebhookBatch(batch, testEnvValue);
  const result = await getQueueResult(batch, ctx);
  return { retry, ack, result };
}

/** The `delaySeconds` of the one `message.retry` call. */
export function delayOf(retry: { mock: { calls: unknown[][] } }): number {
  const options = retry.mock.calls[0]?.[0] as { delaySeconds?: number } | undefined;
  if (options?.delaySeconds === undefined)
    throw new Error("message.retry was not called with a delay");
  return options.delaySeconds;
}

export interface Captured {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * Replaces `fetch` for outbound webhook POSTs only (D1 stays real): each call is recorded and
 * answered by `respond` (by 0-based call number).
 */
export function captureFetch(
  respond: (n: number, req: Captured) => Response | Promise<Response> = () =>
    new Response("ok", { status: 200 }),
) {
  const calls: Captured[] = [];
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input as RequestInfo, init as RequestInit);
    const captured: Captured = {
      url: req.url,
      headers: Object.fromEntries(req.headers),
      body: await req.text(),
    };
    calls.push(captured);
    return respond(calls.length - 1, captured);
  });
  return { calls, spy };
}

export const uid = () => crypto.randomUUID().slice(0, 8);

/**
 * Records an event (a write that is nothing but the event, as an app's emit is) and dispatches
 * it through `testEnv`'s queue; its uuid. Bad types and data are a 400 and record nothing.
 */
export async function emit(
  testEnvValue: Env,
  eventType: string,
  data: unknown,
  uuid: string = newEventUuid(),
): Promise<string> {
  const event = await prepareEvent(testEnvValue, eventType, data, uuid);
  await recordAndDispatch(testEnvValue, event);
  return uuid;
}

/** Registers a fresh app event type and returns its name. */
export async function freshEventType(): Promise<string> {
  const name = `test.${uid()}`;
  const res = await call("POST", "/api/webhooks/event-types", {
    token: ADMIN,
    body: { event_type: name, description: "a test type" },
  });
  if (res.status !== 201) throw new Error(`registering ${name}: ${JSON.stringify(res.body)}`);
  return name;
}

/** A client token of a fresh user that may subscribe to every app event type (not built-ins). */
export function subscriberToken(prefix = "u"): Promise<string> {
  return tokenFor(`${prefix}-${uid()}`, ["webhooks.subscribe:*"]);
}

/** Subscribes with the admin token (or `token`) and returns the create answer. */
export async function subscribe(body: Record<string, unknown>, token = ADMIN) {
  const res = await call("POST", "/api/webhooks", { token, body });
  if (res.status !== 201) throw new Error(`subscribing: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; secret_key: string; [k: string]: unknown };
}

export async function deliveryLog(hookId: string, token = ADMIN) {
  const res = await call("GET", `/api/webhooks/${hookId}/deliveries?limit=200`, { token });
  if (res.status !== 200) throw new Error(`log: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.results as any[];
}

/**
 * A fake `Date` for every test of the calling file (timeouts still run in real time): `now()` is
 * its time, `advance(seconds)` moves the clock the consumer and the scan read.
 */
export function fakeClock() {
  let now = 0;
  beforeEach(() => {
    now = Date.now();
    vi.useFakeTimers({ toFake: ["Date"], now });
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });
  return {
    now: () => now,
    advance: (seconds: number) => {
      now += seconds * 1000;
      vi.setSystemTime(now);
    },
  };
}

/** Retry delays without their ±20 % jitter (the factor is exactly 1), for tests of a countdown. */
export function withoutJitter(): void {
  vi.spyOn(Math, "random").mockReturnValue(0.5);
}
