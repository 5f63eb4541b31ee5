import {
  createExecutionContext,
  createScheduledController,
  env,
  waitOnExecutionContext,
} from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { POST_KEY_PRUNE_LIMIT } from "../src/domain/threads/post-key-retention";
import { call } from "./helpers/http";
import worker from "./support/worker";
import { createThread, party, uid } from "./threads-helpers";
import { emit, freshEventType, subscribe, testEnv } from "./webhooks-helpers";

/**
 * A post's `Idempotency-Key` is kept at least 24 h, then the cron trigger prunes it. Keys are
 * aged by moving their `created_at` back in the real local D1; the real scheduled handler runs.
 */

const HOUR = 60 * 60_000;

afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs the worker's scheduled handler as the cron trigger would, with `runEnv`. */
async function runCron(runEnv: Env = testEnv().env): Promise<void> {
  const ctx = createExecutionContext();
  const controller = createScheduledController({
    scheduledTime: Date.now(),
    cron: "*/5 * * * *",
  });
  await worker.scheduled(controller, runEnv, ctx);
  await waitOnExecutionContext(ctx);
}

async function keyedPost(token: string, threadId: string, key: string, text: string) {
  const res = await call("POST", `/api/threads/${threadId}/messages`, {
    token,
    body: { text },
    headers: { "Idempotency-Key": key },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: number };
}

/** Moves a key's `created_at` back by `ms`, as if it had been stored that long ago. */
async function ageKey(key: string, ms: number): Promise<void> {
  const at = new Date(Date.now() - ms).toISOString();
  const { meta } = await env.DB.prepare("UPDATE thread_post_keys SET created_at = ? WHERE key = ?")
    .bind(at, key)
    .run();
  expect(meta.changes).toBe(1);
}

async function keyStored(key: string): Promise<boolean> {
  const row = await env.DB.prepare("SELECT 1 AS found FROM thread_post_keys WHERE key = ?")
    .bind(key)
    .first();
  return row !== null;
}

async function storedTexts(threadId: string, token: string): Promise<string[]> {
  const res = await call("GET", `/api/threads/${threadId}/messages?limit=200`, { token });
  expect(res.status).toBe(200);
  return res.body.results.map((m: { text: string }) => m.text).reverse();
}

async function thread() {
  const ada = await party("ada");
  return { ada, id: await createThread(ada) };
}

/** A webhook delivery whose Queue message was lost, its due time 6 minutes past. */
async function overdueDelivery(): Promise<number> {
  const type = await freshEventType();
  await subscribe({ event_type: type, target_url: `https://example.com/${uid("hook")}` });
  const lostQueue = {
    sendBatch: async () => {
      throw new Error("queue down");
    },
  } as unknown as Queue;
  vi.spyOn(console, "error").mockImplementation(() => undefined);
  const uuid = await emit(testEnv({ WEBHOOK_QUEUE: lostQueue }).env, type, { lost: true });
  const row = await env.DB.prepare(
    "UPDATE webhook_deliveries SET next_attempt_at = next_attempt_at - ? WHERE event_uuid = ? RETURNING id",
  )
    .bind(6 * 60_000, uuid)
    .first<{ id: number }>();
  return row!.id;
}

describe("threads: Idempotency-Key pruning by the cron trigger", () => {
  it("prunes a key older than 24 h; the same key then stores a new message", async () => {
    const { ada, id } = await thread();
    const key = uid("key");
    const first = await keyedPost(ada.token, id, key, "hello");
    await ageKey(key, 25 * HOUR);

    await runCron();

    expect(await keyStored(key)).toBe(false);
    const again = await keyedPost(ada.token, id, key, "hello");
    expect(again.id).not.toBe(first.id);
    expect(await storedTexts(id, ada.token)).toEqual(["hello", "hello"]);
    // The new message holds the key again for the next 24 h.
    expect((await keyedPost(ada.token, id, key, "hello")).id).toBe(again.id);
  });

  it("keeps a key younger than 24 h in the run that prunes an older one", async () => {
    const { ada, id } = await thread();
    const [old, young] = [uid("old"), uid("young")];
    await keyedPost(ada.token, id, old, "old");
    const kept = await keyedPost(ada.token, id, young, "young");
    await ageKey(old, 24 * HOUR + 60_000);
    await ageKey(young, 23 * HOUR);

    await runCron();

    expect(await keyStored(old)).toBe(false);
    expect(await keyStored(young)).toBe(true);
    expect((await keyedPost(ada.token, id, young, "young")).id).toBe(kept.id);
    expect(await storedTexts(id, ada.token)).toEqual(["old", "young"]);
  });

  it("prunes at most 5,000 keys per run, oldest first", async () => {
    const threadId = uid("bulk");
    const count = POST_KEY_PRUNE_LIMIT + 2;
    // Aged 30 days and more, one second apart: key-1 is the oldest.
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO thread_post_keys (thread_id, caller, key, message_id, fingerprint, created_at)
       SELECT ?, 'admin', 'key-' || i, i, 'f',
              strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-30 days', '-' || (? - i) || ' seconds')
       FROM n`,
    )
      .bind(count, threadId, count)
      .run();
    const left = async () =>
      (
        await env.DB.prepare("SELECT key FROM thread_post_keys WHERE thread_id = ? ORDER BY key")
          .bind(threadId)
          .all<{ key: string }>()
      ).results.map((r) => r.key);

    await runCron();
    expect(await left()).toEqual([`key-${count - 1}`, `key-${count}`]);
    await runCron();
    expect(await left()).toEqual([]);
  });

  it("runs the webhook scan in the same cron run", async () => {
    const { ada, id } = await thread();
    const key = uid("key");
    await keyedPost(ada.token, id, key, "hello");
    await ageKey(key, 25 * HOUR);
    const delivery = await overdueDelivery();
    const scan = testEnv();

    await runCron(scan.env);

    expect(scan.sent.map((m) => m.body.delivery_id)).toContain(delivery);
    expect(await keyStored(key)).toBe(false);
  });

  it("prunes keys when the webhook scan fails, and logs the failure", async () => {
    const { ada, id } = await thread();
    const key = uid("key");
    await keyedPost(ada.token, id, key, "hello");
    await ageKey(key, 25 * HOUR);
    await overdueDelivery();
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const queueDown = {
      sendBatch: async () => {
        throw new Error("queue down");
      },
    } as unknown as Queue;

    await runCron(testEnv({ WEBHOOK_QUEUE: queueDown }).env);

    expect(await keyStored(key)).toBe(false);
    expect(errors).toHaveBeenCalledWith("Cron: webhook delivery scan failed", expect.any(Error));
  });
});
