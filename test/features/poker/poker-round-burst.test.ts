import { abortAllDurableObjects, env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN, call, tokenFor } from "../../helpers/http";
import { connect, type TestSocket } from "../../helpers/ws";

const VOTERS = 6;

/** A session with one story, a connected moderator and VOTERS connected voters, the story active. */
async function room() {
  const session = (
    await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name: "Round" } })
  ).body;
  const story = (
    await call("POST", `/api/poker/sessions/${session.id}/stories`, {
      token: ADMIN,
      body: { story_label: "S1", description: "<p>S1</p>" },
    })
  ).body;
  const u = crypto.randomUUID().slice(0, 8);
  const path = `/ws/poker/${session.id}`;
  const mod = await connect(path, await tokenFor(`mod-${u}`, ["planning_poker.moderate"]));
  const voters: TestSocket[] = [];
  for (let v = 0; v < VOTERS; v++) {
    voters.push(await connect(path, await tokenFor(`voter-${v}-${u}`, ["planning_poker.vote"])));
  }
  await mod.request("next_story_requested", { story_id: story.id });
  const active = (f: any) => f?.event === "story_changed" && f.data.id === story.id;
  await Promise.all([mod, ...voters].map((s) => s.next(active, "the active story")));
  return { story, mod, voters, path };
}

const storyChanged = (s: TestSocket) => s.frames.filter((f) => f?.event === "story_changed");

describe("poker room: a room voting at once", () => {
  // Votes sent together are gathered into few batches (RoomQueue); however they are split, every
  // frame before the reveal keeps the others' votes hidden and the last one reveals all of them.
  it("stores every vote, hides them until the last one and then reveals them to everyone", async () => {
    const { story, mod, voters } = await room();
    for (const ws of voters) ws.send({ event: "vote_submitted", data: { choice: "3" } });
    const everyone = (f: any) => f?.event === "story_changed" && f.data.voted.length === VOTERS;
    const last = await Promise.all([mod, ...voters].map((s) => s.next(everyone, "all votes")));
    for (const frame of last) {
      expect(frame.data.revealed).toBe(true);
      expect(frame.data.votes["3"]).toHaveLength(VOTERS);
    }
    // Frames of the batches before the last: fewer than one per vote, votes hidden from voters.
    const before = storyChanged(mod);
    expect(before.length).toBeLessThan(VOTERS - 1);
    for (const frame of before) {
      expect(frame.data.revealed).toBe(false);
      expect(frame.data.votes["3"] ?? []).toHaveLength(frame.data.voted.length);
    }
    for (const ws of voters) {
      for (const frame of storyChanged(ws)) {
        expect(frame.data.revealed).toBe(false);
        expect((frame.data.votes["3"] ?? []).length).toBeLessThanOrEqual(1);
      }
    }
    const row = await env.DB.prepare(
      "SELECT revealed, (SELECT COUNT(*) FROM poker_votes WHERE story_id = ?1) AS votes FROM poker_stories WHERE id = ?1",
    )
      .bind(story.id)
      .first<{ revealed: number; votes: number }>();
    expect(row).toEqual({ revealed: 1, votes: VOTERS });
    for (const s of [mod, ...voters]) s.close();
  });

  // Every vote used to send every socket a frame listing every voter: quadratic in the room's
  // size. Progress frames are now paced; the clock stands still here, so every vote after the
  // first falls inside the first one's window.
  describe("vote progress is paced", () => {
    afterEach(() => vi.useRealTimers());
    const voted = (n: number) => (f: any) =>
      f?.event === "story_changed" && f.data.voted.length === n;

    it("a quiet room's vote is shown before its reply; later ones at the window's end; the reveal at once", async () => {
      const { mod, voters } = await room();
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
      const [first, second, ...rest] = voters as [TestSocket, TestSocket, ...TestSocket[]];

      await first.request("vote_submitted", { choice: "3" }, "v1");
      // Frames of one socket arrive in order: the frame was sent before the reply.
      expect(first.frames.some(voted(1))).toBe(true);

      await second.request("vote_submitted", { choice: "5" }, "v2");
      expect(second.frames.some(voted(2))).toBe(false);
      const paced = await second.next(voted(2), "the paced frame");
      expect(paced.data.votes).toEqual({
        "5": [expect.objectContaining({ name: expect.any(String) })],
      });
      const shown = await mod.next(voted(2), "the paced frame");
      expect(Object.keys(shown.data.votes).sort()).toEqual(["3", "5"]);

      // The last votes reveal: that frame is not held back by the window.
      const last = rest.at(-1) as TestSocket;
      await Promise.all(rest.slice(0, -1).map((s) => s.request("vote_submitted", { choice: "3" })));
      await last.request("vote_submitted", { choice: "3" }, "last");
      const reveal = last.frames.find(voted(VOTERS));
      expect(reveal?.data.revealed).toBe(true);
      // A progress frame still pending when the reveal went out is dropped, not sent after it.
      await mod.next(voted(VOTERS), "the reveal");
      mod.frames.length = 0;
      await mod.nothing((f) => f?.event === "story_changed", 600);
      for (const s of [mod, ...voters]) s.close();
    });

    it("a frame still waiting for its window when the room is evicted is published when it starts again", async () => {
      const { mod, voters, path } = await room();
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
      const [first, second] = voters as [TestSocket, TestSocket];
      await first.request("vote_submitted", { choice: "3" });
      await second.request("vote_submitted", { choice: "5" });
      // The second vote is acknowledged, its frame waits for the window: evict now.
      await abortAllDurableObjects();
      for (const s of [mod, ...voters]) s.close();

      // A client replaying the whole stream finds both votes in it, in a frame of the stream.
      const fresh = await connect(`${path}?since=0`, ADMIN);
      const shown = await fresh.next(
        (f) => voted(2)(f) && typeof f.seq === "number",
        "the stream's frame with both votes",
      );
      expect(Object.keys(shown.data.votes).sort()).toEqual(["3", "5"]);
      fresh.close();
    });
  });
});
