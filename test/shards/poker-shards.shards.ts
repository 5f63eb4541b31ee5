import { describe, expect, it } from "vitest";
import { ADMIN, call, tokenFor } from "../helpers/http";
import { connect } from "../helpers/ws";

const MODERATE = "planning_poker.moderate";
const VOTE = "planning_poker.vote";

/** ROOM_SHARD_SOCKETS is 3 here: the first three sockets fill the room, the rest go to shards. */
describe("poker on shards", () => {
  it("renders hidden votes per viewer on a shard, and a shard voter's vote replies to it", async () => {
    const session = (
      await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name: "Big" } })
    ).body;
    await call("POST", `/api/poker/sessions/${session.id}/stories`, {
      token: ADMIN,
      body: { story_label: "S1", description: "one" },
    });
    const u = crypto.randomUUID().slice(0, 8);
    const path = `/ws/poker/${session.id}`;
    const mod = await connect(path, await tokenFor(`mod-${u}`, [MODERATE], { name: "Mona" }));
    await mod.request("next_story_requested", {});
    const fillers = [
      await connect(path, await tokenFor(`s1-${u}`, [], { name: "Sam" })),
      await connect(path, await tokenFor(`s2-${u}`, [], { name: "Sue" })),
    ];
    // On shard 1: two voters and a second moderator.
    const alice = await connect(path, await tokenFor(`alice-${u}`, [VOTE], { name: "Alice" }));
    const bob = await connect(path, await tokenFor(`bob-${u}`, [VOTE], { name: "Bob" }));
    const mod2 = await connect(path, await tokenFor(`mod2-${u}`, [MODERATE], { name: "Max" }));
    // The joining socket's own view, sent by the room's join hook through the shard.
    expect((await alice.event("story_changed")).data.story_label).toBe("S1");
    await bob.event("story_changed");
    await mod2.event("story_changed");

    const reply = await alice.request("vote_submitted", { choice: "5" });
    expect(reply).toMatchObject({ status: 200, errors: [] });

    const own = await alice.event("story_changed");
    expect(own.data.revealed).toBe(false);
    expect(own.data.votes).toEqual({ "5": [{ id: `alice-${u}`, name: "Alice" }] });
    const hidden = await bob.event("story_changed");
    expect(hidden.data.votes).toEqual({});
    expect(hidden.data.voted).toEqual([{ id: `alice-${u}`, name: "Alice" }]);
    expect(hidden.seq).toBe(own.seq);
    const voteEvent = (f: any) => f?.event === "story_changed" && f.seq === own.seq;
    const spectator = await fillers[0]!.next(voteEvent, "the vote's story_changed");
    expect(spectator.data.votes).toEqual({});
    for (const moderator of [mod, mod2]) {
      const all = await moderator.next(voteEvent, "the vote's story_changed");
      expect(all.data.votes).toEqual({ "5": [{ id: `alice-${u}`, name: "Alice" }] });
    }

    // A moderator's command from a shard: the reveal reaches everyone, the room's sockets too.
    expect((await mod2.request("reveal_requested", {})).status).toBe(200);
    for (const ws of [mod, ...fillers, alice, bob]) {
      const revealed = await ws.next(
        (f) => f?.event === "story_changed" && f.data.revealed,
        "the revealed story",
      );
      expect(revealed.data).toMatchObject({ revealed: true, votes: { "5": [{ name: "Alice" }] } });
    }
    // A spectator on a shard may not vote: refused on the shard itself.
    const sam = await connect(path, await tokenFor(`s3-${u}`, [], { name: "Sid" }));
    expect((await sam.request("vote_submitted", { choice: "5" })).status).toBe(403);

    // Ending the session closes the shards' sockets with 4410 too.
    await call("POST", `/api/poker/sessions/${session.id}/end`, { token: ADMIN });
    for (const ws of [mod, alice, bob, mod2, sam]) {
      await ws.event("poker_session_ended");
      expect((await ws.waitClosed()).code).toBe(4410);
    }
  });

  it("lists shard sockets in the room's presence: participants, the roster, one user once", async () => {
    const session = (
      await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name: "Spread" } })
    ).body;
    const u = crypto.randomUUID().slice(0, 8);
    const path = `/ws/poker/${session.id}`;
    const mod = await connect(path, await tokenFor(`mod-${u}`, [MODERATE], { name: "Mona" }));
    const names = ["Ann", "Ben", "Cat", "Dan", "Eve"];
    const voters = [];
    for (const [i, name] of names.entries()) {
      voters.push(await connect(path, await tokenFor(`v${i}-${u}`, [VOTE], { name })));
    }
    // A second tab of Ann, which lands on a shard too: she is still listed once.
    const annTab = await connect(path, await tokenFor(`v0-${u}`, [VOTE], { name: "Ann" }));
    const everyone = ["Ann", "Ben", "Cat", "Dan", "Eve", "Mona"];
    const listed = await mod.next(
      (f) =>
        f?.event === "participants_changed" &&
        f.data.participants
          .map((p: { name: string }) => p.name)
          .sort()
          .join() === everyone.join(),
      "every participant, shard sockets included",
    );
    expect(listed.data.participants).toHaveLength(6);
    const roster = await call("GET", `/api/rooms/poker/${session.id}/presence`, { token: ADMIN });
    expect(roster.status).toBe(200);
    expect(roster.body.count).toBe(6);
    const ann = roster.body.results.find((p: { user_id: string }) => p.user_id === `v0-${u}`);
    expect(ann.connections).toBe(2);
    // One of Ann's tabs closes: she keeps her other one, so nobody leaves.
    annTab.close();
    await annTab.waitClosed();
    await new Promise((r) => setTimeout(r, 500));
    const after = await call("GET", `/api/rooms/poker/${session.id}/presence`, { token: ADMIN });
    expect(after.body.count).toBe(6);
    expect(
      after.body.results.find((p: { user_id: string }) => p.user_id === `v0-${u}`).connections,
    ).toBe(1);
    for (const ws of [mod, ...voters]) ws.close();
  });
});
