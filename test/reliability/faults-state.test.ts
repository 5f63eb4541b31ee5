import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN, call } from "../helpers/http";
import {
  adminHook,
  backstopAndSettle,
  failNextBatch,
  failNextQueueSend,
  type Injected,
  receiver,
  recordedEvents,
} from "../helpers/reliability/outbox-faults";

/**
 * A flow's state change cut between its write and the dispatch of `state.changed` (issue: the
 * state was stored, the event was not, and the client's retry found the state already set).
 * The client retries the same PATCH as it would after any error; the backstop is the cron's
 * scan. Every time the state ends up set once and the event is delivered exactly once.
 */

async function flowOf() {
  const key = `p-${crypto.randomUUID()}`;
  expect(
    (await call("POST", "/api/persons", { token: ADMIN, body: { key, name: "Ada" } })).status,
  ).toBe(201);
  const flow = await call("POST", `/api/persons/${key}/flows`, {
    token: ADMIN,
    body: { identifier: "onboarding", state: "inactive" },
  });
  expect(flow.status).toBe(201);
  return { key, id: flow.body.id as string };
}

const activate = (id: string) =>
  call("PATCH", `/api/flows/${id}`, { token: ADMIN, body: { state: "active" } });

/** The fault, the client's call and its retry; then the backstop and what was delivered. */
async function cutAndRetry(fault: () => Injected) {
  const hook = await adminHook("state.changed");
  const posts = receiver();
  vi.spyOn(console, "error").mockImplementation(() => undefined);
  const { key, id } = await flowOf();
  const injected = fault();
  const first = await activate(id);
  expect(injected.fired).toBe(true);
  const retry = await activate(id);
  await backstopAndSettle(hook.id);
  const events = await recordedEvents("state.changed", "id", id);
  return { key, id, first, retry, events, delivered: posts.ids(hook.url) };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("faults: a flow state change and its state.changed event", () => {
  it("the dispatch fails after the write: 200, the retry changes nothing, delivered once", async () => {
    const { id, first, retry, events, delivered } = await cutAndRetry(failNextQueueSend);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id, state: "active" });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(events).toHaveLength(1);
    expect(delivered).toEqual(events);
  });

  it("the write of the change and its event fails once: neither is stored alone, both once", async () => {
    const { id, first, retry, events, delivered } = await cutAndRetry(() =>
      failNextBatch("before"),
    );
    // The room reads again and repeats a compare-and-set whose transaction failed.
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id, state: "active" });
    expect(retry.body).toEqual(first.body);
    expect(events).toHaveLength(1);
    expect(delivered).toEqual(events);
  });

  it("the room dies between the commit and the dispatch: the retry finds it set, the backstop sends once", async () => {
    const { id, retry, events, delivered } = await cutAndRetry(() => failNextBatch("after"));
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ id, state: "active" });
    expect(events).toHaveLength(1);
    expect(delivered).toEqual(events);
  });
});
