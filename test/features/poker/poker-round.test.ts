import { abortAllDurableObjects, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN, call, tokenFor } from "../../helpers/http";
import { connect, type TestSocket } from "../../helpers/ws";

const MODERATE = "planning_poker.moderate";
const VOTE = "planning_poker.vote";

async function setup(labels = ["S1", "S2"]) {
  const session = (
    await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name: "Round" } })
  ).body;
  const stories: any[] = [];
  for (const story_label of labels) {
    stories.push(
      (
        await call("POST", `/api/poker/sessions/${session.id}/stories`, {
          token: ADMIN,
          body: { story_label },
        })
      ).body,
    );
  }
  const u = crypto.randomUUID().slice(0, 8);
  const ids = { mod: `mod-${u}`, zoe: `zoe-${u}`, spec: `spec-${u}` };
  const tokens = {
    mod: await tokenFor(ids.mod, [MODERATE], { name: "Mona" }),
    zoe: await tokenFor(ids.zoe, [VOTE], { name: "Zoe" }),
    spec: await tokenFor(ids.spec, [], { name: "Sam" }),
  };
  const path = `/ws/poker/${session.id}`;
  return {
    session,
    stories,
    ids,
    path,
    open: (who: keyof typeof tokens) => connect(path, tokens[who]),
  };
}

const votesOf = async (storyId: string) =>
  (
    await env.DB.prepare("SELECT user_id, choice FROM poker_votes WHERE story_id = ?")
      .bind(storyId)
      .all<{ user_id: string; choice: string }>()
  ).results;

const timerEvent = (ws: TestSocket, what: string, match: (d: any) => boolean = () => true) =>
  ws.next((f) => f?.event === "timer_changed" && match(f.data), what);

describe("poker: vote_withdrawn", () => {
  it("removes the sender's vote (D1 first) and broadcasts story_changed", async () => {
    const { open, stories, ids } = await setup();
    const mod = await open("mod");
    const zoe = await open("zoe");
    await mod.request("next_story_requested", {});
    await zoe.request("vote_submitted", { choice: "5" });
    await mod.next((f) => f?.event === "story_changed" && f.data.voted.length === 1, "the vote");
    expect(await votesOf(stories[0].id)).toEqual([{ user_id: ids.zoe, choice: "5" }]);

    expect((await zoe.request("vote_withdrawn", {})).status).toBe(200);
    const seen = await mod.next(
      (f) => f?.event === "story_changed" && f.data.voted.length === 0,
      "the withdrawal",
    );
    expect(seen.data.votes).toEqual({});
    expect(typeof seen.seq).toBe("number");
    expect(await votesOf(stories[0].id)).toEqual([]);

    // Nothing to withdraw: answered, nothing sent.
    mod.frames.length = 0;
    expect((await zoe.request("vote_withdrawn", {})).status).toBe(200);
    await mod.nothing((f) => f?.event === "story_changed");
    for (const ws of [mod, zoe]) ws.close();
  });

  it("409 with no active story; 403 without planning_poker.vote; 400 with data", async () => {
    const { open } = await setup();
    const mod = await open("mod");
    const zoe = await open("zoe");
    const spec = await open("spec");
    expect((await zoe.request("vote_withdrawn", {})).status).toBe(409);
    await mod.request("next_story_requested", {});
    expect((await mod.request("vote_withdrawn", {})).status).toBe(403);
    expect((await spec.request("vote_withdrawn", {})).status).toBe(403);
    expect((await zoe.request("vote_withdrawn", { choice: "5" })).status).toBe(400);
    for (const ws of [mod, zoe, spec]) ws.close();
  });
});

describe("poker: round timer", () => {
  it("timer_started / timer_stopped (moderators) → timer_changed to all", async () => {
    const { open } = await setup();
    const mod = await open("mod");
    const zoe = await open("zoe");
    const before = Date.now();
    expect((await mod.request("timer_started", { seconds: 90 })).status).toBe(200);
    for (const ws of [mod, zoe]) {
      const started = await timerEvent(ws, "the timer started");
      expect(started.data.seconds).toBe(90);
      const endsAt = Date.parse(started.data.ends_at);
      expect(endsAt).toBeGreaterThanOrEqual(before + 90_000 - 1_000);
      expect(endsAt).toBeLessThanOrEqual(Date.now() + 90_000 + 1_000);
      expect(typeof started.seq).toBe("number");
    }
    expect((await zoe.request("timer_started", { seconds: 60 })).status).toBe(403);
    expect((await zoe.request("timer_stopped", {})).status).toBe(403);
    for (const seconds of [9, 3601, 12.5, "60"]) {
      expect((await mod.request("timer_started", { seconds })).status).toBe(400);
    }
    expect((await mod.request("timer_stopped", {})).status).toBe(200);
    for (const ws of [mod, zoe]) {
      expect((await timerEvent(ws, "the timer stopped")).data).toEqual({
        ends_at: null,
        seconds: null,
      });
    }
    for (const ws of [mod, zoe]) ws.close();
  });

  it("a joining socket gets the running timer after its story_changed; resync carries it", async () => {
    const { open, path, session } = await setup();
    const mod = await open("mod");
    await mod.request("next_story_requested", {});
    await mod.request("timer_started", { seconds: 300 });
    const started = (await timerEvent(mod, "the timer started")).data;

    const zoe = await open("zoe");
    const first = await zoe.next(
      (f) => ["story_changed", "timer_changed"].includes(f?.event),
      "the joining frames",
    );
    expect(first.event).toBe("story_changed");
    const joined = await timerEvent(zoe, "the running timer");
    expect(joined.data).toEqual(started);
    expect(joined.seq).toBeUndefined();

    const resync = await connect(`${path}?since=999999`, await tokenFor("late", [VOTE]));
    expect((await resync.event("resync")).data.timer).toEqual(started);

    // Stored: an evicted room still knows it.
    await abortAllDurableObjects();
    const again = await connect(`/ws/poker/${session.id}`, await tokenFor("again", [VOTE]));
    expect((await timerEvent(again, "the timer after eviction")).data).toEqual(started);
    for (const ws of [mod, zoe, resync, again]) ws.close();
  });

  it("a new active story stops the timer; resync shows none", async () => {
    const { open, path } = await setup();
    const mod = await open("mod");
    await mod.request("next_story_requested", {});
    await mod.request("timer_started", { seconds: 60 });
    await timerEvent(mod, "the timer started", (d) => d.seconds === 60);
    await mod.request("next_story_requested", {});
    await mod.next((f) => f?.event === "story_changed" && f.data.story_label === "S2", "S2");
    expect((await timerEvent(mod, "the timer stopped")).data).toEqual({
      ends_at: null,
      seconds: null,
    });
    const resync = await connect(`${path}?since=999999`, await tokenFor("late2", [VOTE]));
    expect((await resync.event("resync")).data.timer).toEqual({ ends_at: null, seconds: null });
    await resync.nothing((f) => f?.event === "timer_changed");
    for (const ws of [mod, resync]) ws.close();
  });
});
