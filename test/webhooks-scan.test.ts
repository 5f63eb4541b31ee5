import { describe, expect, it, vi } from "vitest";
import { emit } from "../src/webhooks/emit";
import { scanUndelivered } from "../src/webhooks/scan";
import {
  captureFetch,
  consume,
  deliveryLog,
  fakeClock,
  freshEventType,
  subscribe,
  testEnv,
  uid,
} from "./webhooks-helpers";

// Its own file: the scan looks at every open delivery, and D1 is shared per test file.

const { advance } = fakeClock();

describe("the cron scan", () => {
  it("re-enqueues a delivery whose message was lost, once it is overdue", async () => {
    const { calls } = captureFetch();
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: `https://example.com/${uid()}` });
    const broken = testEnv({
      WEBHOOK_QUEUE: {
        sendBatch: async () => {
          throw new Error("queue down");
        },
      } as unknown as Queue,
    });
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const uuid = await emit(broken.env, type, { lost: true });
    const t = testEnv();
    expect(await scanUndelivered(t.env)).toBe(0);
    advance(6 * 60);
    expect(await scanUndelivered(t.env)).toBe(1);
    expect(t.sent).toHaveLength(1);
    // Picked up once: the next scan leaves it alone.
    expect(await scanUndelivered(t.env)).toBe(0);
    await consume(t.env, t.sent[0]!.body.delivery_id);
    expect(calls.map((c) => c.headers["webhook-id"])).toEqual([uuid]);
    const [attempt] = await deliveryLog(hook.id);
    expect(attempt).toMatchObject({ attempt: 1, status: "succeeded" });
  });
});
