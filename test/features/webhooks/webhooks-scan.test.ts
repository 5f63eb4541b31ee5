import { describe, expect, it, vi } from "vitest";
import { scanUndelivered } from "../../../src/features/webhooks/scan";
import {
  captureFetch,
  consume,
  deliveryLog,
  emit,
  fakeClock,
  freshEventType,
  subscribe,
  testEnv,
  uid,
} from "../../helpers/webhooks";

// Its own file: the scan looks at every open delivery, and D1 is shared per test file.

const { advance } = fakeClock();

describe("the cron scan", () => {
  it("re-enqueues a delivery whose message was lost at the first tick after it was due", async () => {
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
    // Due when it was recorded (this very millisecond): the next tick, a moment on, takes it.
    expect(await scanUndelivered(t.env)).toBe(0);
    advance(1);
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
