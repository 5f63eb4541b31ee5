import { abortAllDurableObjects, env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN, call, tokenFor } from "../helpers/http";
import {
  adminHook,
  backstopAndSettle,
  failNextBatch,
  receiver,
  recordedEvents,
} from "../helpers/reliability/outbox-faults";
import { connect, type TestSocket, tryConnect } from "../helpers/ws";

/**
 * Poker's webhook events cut off from their change: the room evicted right after the session's
 * end was stored, and a story's points whose write failed. A client retries as it would after an
 * error; the backstop is the cron's scan. Each event is delivered exactly once.
 */

async function sessionWithStory() {
  const session = await call("POST", "/api/poker/sessions", {
    token: ADMIN,
    body: { name: "Faults", choices: ["1", "2", "3"] },
  });
  const id = session.body.id as string;
  const story = await call("POST", `/api/poker/sessions/${id}/stories`, {
    token: ADMIN,
    body: { story_label: "Cut" },
  });
  expect(story.status).toBe(201);
  return { id, storyId: story.body.id as string };
}

const ended = (id: string) => async () =>
  (
    await env.DB.prepare("SELECT ended_at FROM poker_sessions WHERE id = ?")
      .bind(id)
      .first<{ ended_at: string | null }>()
  )?.ended_at != null;

const sockets: TestSocket[] = [];
afterEach(() => {
  for (const ws of sockets.splice(0)) ws.close();
  vi.restoreAllMocks();
});

describe("faults: poker events and the writes they announce", () => {
  it("endNow evicted after the end is stored: poker.session_ended is delivered exactly once", async () => {
    const hook = await adminHook("poker.session_ended");
    const posts = receiver();
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { id } = await sessionWithStory();
    const moderator = await connect(
      `/ws/poker/${id}`,
      await tokenFor("mod-cut", ["planning_poker.moderate"]),
    );
    sockets.push(moderator);

    const injected = failNextBatch("after", ended(id));
    const first = await call("POST", `/api/poker/sessions/${id}/end`, { token: ADMIN });
    expect(injected.fired).toBe(true);
    expect(first.status).toBe(500);
    await abortAllDurableObjects();

    // The moderator's retry: the session is ended, once.
    const retry = await call("POST", `/api/poker/sessions/${id}/end`, { token: ADMIN });
    expect(retry.status).toBe(409);
    const late = (await tryConnect(`/ws/poker/${id}`, ADMIN)) as Response;
    expect(late.status).toBe(410);

    await backstopAndSettle(hook.id);
    const events = await recordedEvents("poker.session_ended", "session_id", id);
    expect(events).toHaveLength(1);
    expect(posts.ids(hook.url)).toEqual(events);
  });

  it("points whose write fails: the moderator's retry stores them and their event, once", async () => {
    const hook = await adminHook("poker.story_points_submitted");
    const posts = receiver();
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { id, storyId } = await sessionWithStory();
    const moderator = await connect(
      `/ws/poker/${id}`,
      await tokenFor("mod-pts", ["planning_poker.moderate"]),
    );
    sockets.push(moderator);
    expect((await moderator.request("next_story_requested", {})).status).toBe(200);

    const injected = failNextBatch("before");
    let reply = await moderator.request("points_submitted", { story_points: "3" });
    expect(injected.fired).toBe(true);
    // A client retries a frame that failed; one that succeeded it does not send again.
    if (reply.status !== 200)
      reply = await moderator.request("points_submitted", { story_points: "3" });
    expect(reply.status).toBe(200);

    await backstopAndSettle(hook.id);
    const events = await recordedEvents("poker.story_points_submitted", "story_id", storyId);
    expect(events).toHaveLength(1);
    expect(posts.ids(hook.url)).toEqual(events);
  });
});
