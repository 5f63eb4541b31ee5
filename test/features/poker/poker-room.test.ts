import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN, call, tokenFor } from "../../helpers/http";
import { connect, type TestSocket, tryConnect } from "../../helpers/ws";

const MODERATE = "planning_poker.moderate";
const VOTE = "planning_poker.vote";

/** A session with stories, and tokens for a moderator, two voters and a spectator. */
async function setup(labels = ["S1", "S2", "S3"], choices?: string[]) {
  const session = (
    await call("POST", "/api/poker/sessions", {
      token: ADMIN,
      body: { name: "Sprint", ...(choices ? { choices } : {}) },
    })
  ).body;
  const stories: any[] = [];
  for (const label of labels) {
    const res = await call("POST", `/api/poker/sessions/${session.id}/stories`, {
      token: ADMIN,
      body: { story_label: label, description: `<p>${label}</p>` },
    });
    stories.push(res.body);
  }
  const u = crypto.randomUUID().slice(0, 8);
  const tokens = {
    mod: await tokenFor(`mod-${u}`, [MODERATE], { name: "Mona" }),
    alice: await tokenFor(`alice-${u}`, [VOTE], { name: "Alice" }),
    bob: await tokenFor(`bob-${u}`, [VOTE], { name: "Bob" }),
    spectator: await tokenFor(`spec-${u}`, [], { name: "Sam" }),
  };
  const ids = { mod: `mod-${u}`, alice: `alice-${u}`, bob: `bob-${u}`, spectator: `spec-${u}` };
  const path = `/ws/poker/${session.id}`;
  const open = async (who: keyof typeof tokens) => connect(path, tokens[who]);
  return { session, stories, tokens, ids, path, open };
}

const storyRow = (id: string) =>
  env.DB.prepare("SELECT story_points, revealed FROM poker_stories WHERE id = ?")
    .bind(id)
    .first<{ story_points: number | null; revealed: number }>();
const activeStoryOf = async (sessionId: string) =>
  (
    await env.DB.prepare("SELECT active_story_id FROM poker_sessions WHERE id = ?")
      .bind(sessionId)
      .first<{ active_story_id: string | null }>()
  )?.active_story_id;
const voteCount = async (storyId: string) =>
  (
    await env.DB.prepare("SELECT COUNT(*) AS n FROM poker_votes WHERE story_id = ?")
      .bind(storyId)
      .first<{ n: number }>()
  )?.n;

async function allEvent(sockets: TestSocket[], name: string) {
  return Promise.all(sockets.map((s) => s.event(name)));
}

describe("poker room: connecting", () => {
  it("admits any valid token; 404 for an unknown session", async () => {
    const { path, tokens, open } = await setup();
    const res = (await tryConnect(`/ws/poker/${crypto.randomUUID()}`, tokens.alice)) as Response;
    expect(res.status).toBe(404);
    expect(((await tryConnect(path)) as Response).status).toBe(401);
    const spectator = await open("spectator");
    const joined = await spectator.event("participants_changed");
    expect(joined.data.participants[0]).toMatchObject({ name: "Sam", permissions: [] });
    spectator.close();
  });

  it("sends the active story to a joining socket alone, with hidden votes for voters", async () => {
    const { stories, open, ids } = await setup();
    const mod = await open("mod");
    await mod.request("next_story_requested", {});
    const alice = await open("alice");
    const bob = await open("bob");
    await alice.event("story_changed");
    await bob.event("story_changed");
    await alice.request("vote_submitted", { choice: "3" });
    const late = await open("bob");
    const first = await late.event("story_changed");
    expect(first.seq).toBeUndefined();
    expect(first.data).toMatchObject({ id: stories[0].id, revealed: false, votes: {} });
    expect(first.data.voted).toEqual([{ id: ids.alice, name: "Alice" }]);
    await mod.nothing((f) => f?.event === "story_changed" && f.seq === undefined);
    for (const s of [mod, alice, bob, late]) s.close();
  });
});

describe("poker room: client events and permissions", () => {
  const cases: [string, unknown, string][] = [
    ["next_story_requested", {}, MODERATE],
    ["points_submitted", { story_points: "5" }, MODERATE],
    ["reset_requested", {}, MODERATE],
    ["reveal_requested", {}, MODERATE],
    ["vote_submitted", { choice: "5" }, VOTE],
  ];

  for (const [event, data, permission] of cases) {
    it(`${event}: refused with 403 without ${permission}, nothing changes`, async () => {
      const { session, stories, open, tokens } = await setup();
      const mod = await open("mod");
      const alice = await open("alice");
      await mod.request("next_story_requested", {});
      await mod.request("vote_submitted", { choice: "5" }).then((r) => {
        // a moderator without the vote permission may not vote either
        expect(r.status).toBe(403);
      });
      await alice.event("story_changed");
      const refusedBy = permission === MODERATE ? [alice, await open("spectator")] : [mod];
      if (permission === VOTE) refusedBy.push(await open("spectator"));
      for (const socket of refusedBy) {
        const reply = await socket.request(event, data);
        expect(reply.status).toBe(403);
        expect(reply.errors[0]).toContain(permission);
      }
      await alice.nothing((f) => ["story_changed", "story_points_submitted"].includes(f?.event));
      expect(await activeStoryOf(session.id)).toBe(stories[0].id);
      expect(await storyRow(stories[0].id)).toEqual({ story_points: null, revealed: 0 });
      expect(await voteCount(stories[0].id)).toBe(0);
      // The socket stays usable and the allowed side succeeds.
      const allowed =
        permission === MODERATE ? mod : await connect(`/ws/poker/${session.id}`, tokens.alice);
      expect((await allowed.request(event, data)).status).toBe(200);
      for (const s of [mod, alice, ...refusedBy, allowed]) s.close();
    });
  }

  it("heartbeat is allowed for everyone and needs `data`", async () => {
    const { open } = await setup();
    for (const who of ["mod", "alice", "spectator"] as const) {
      const ws = await open(who);
      expect((await ws.request("heartbeat", {})).status).toBe(200);
      const missing = await ws.request("heartbeat", undefined);
      expect(missing.status).toBe(400);
      ws.close();
    }
  });

  it("answers malformed frames with 4xx and keeps the socket open", async () => {
    const { open } = await setup();
    const mod = await open("mod");
    const unknown = await mod.request("story_deleted", {});
    expect(unknown.status).toBe(400);
    expect(unknown.errors[0]).toContain("story_deleted");
    mod.send({ event: "next_story_requested", request_id: "nodata" });
    expect((await mod.reply("nodata")).status).toBe(400);
    expect((await mod.request("reset_requested", { extra: 1 })).status).toBe(400);
    expect((await mod.request("next_story_requested", { story_id: "x", more: 1 })).status).toBe(
      400,
    );
    mod.send({ event: "heartbeat", data: {} });
    expect((await mod.request("next_story_requested", {})).status).toBe(200);
    mod.close();
  });

  it("answers 409 when there is no active story", async () => {
    const { open } = await setup();
    const mod = await open("mod");
    const alice = await open("alice");
    expect((await alice.request("vote_submitted", { choice: "3" })).status).toBe(409);
    expect((await mod.request("points_submitted", { story_points: "3" })).status).toBe(409);
    expect((await mod.request("reset_requested", {})).status).toBe(409);
    expect((await mod.request("reveal_requested", {})).status).toBe(409);
    mod.close();
    alice.close();
  });
});

describe("poker room: next story", () => {
  it("moves to the first story, to a named one, and refuses stories of other sessions", async () => {
    const { stories, open } = await setup();
    const other = await setup(["Elsewhere"]);
    const mod = await open("mod");
    const alice = await open("alice");
    await mod.request("next_story_requested", {});
    const [m, a] = await allEvent([mod, alice], "story_changed");
    expect(m.data).toEqual({
      id: stories[0].id,
      story_label: "S1",
      description: "<p>S1</p>",
      votes: {},
      revealed: false,
      voted: [],
      story_points: null,
    });
    expect(typeof m.seq).toBe("number");
    expect(a.data).toEqual(m.data);

    await mod.request("next_story_requested", { story_id: stories[2].id });
    expect((await alice.event("story_changed")).data.id).toBe(stories[2].id);

    const foreign = await mod.request("next_story_requested", { story_id: other.stories[0].id });
    expect(foreign.status).toBe(404);
    expect((await mod.request("next_story_requested", { story_id: "nope" })).status).toBe(404);
    await alice.nothing((f) => f?.event === "story_changed");
    mod.close();
    alice.close();
  });

  it("skips estimated stories, wraps round to skipped ones, then ends the session", async () => {
    const { session, stories, open } = await setup(["S1", "S2", "S3", "S4"]);
    const mod = await open("mod");
    const order: string[] = [];
    const next = async () => {
      await mod.request("next_story_requested", {});
      const frame = await mod.next(
        (f) => f?.event === "story_changed" || f?.event === "poker_session_ended",
        "next story or end",
      );
      order.push(frame.event === "story_changed" ? frame.data.story_label : "ended");
    };
    await next(); // S1
    await mod.request("points_submitted", { story_points: "3" });
    await next(); // S2, skipped without points
    await next(); // S3
    await mod.request("points_submitted", { story_points: "5" });
    await next(); // S4, skipped
    await next(); // wraps to S2
    await mod.request("points_submitted", { story_points: "8" });
    await next(); // S4 is the only one left
    await mod.request("points_submitted", { story_points: "1" });
    await next(); // none left: the session ends
    expect(order).toEqual(["S1", "S2", "S3", "S4", "S2", "S4", "ended"]);
    expect(stories).toHaveLength(4);
    const got = await call("GET", `/api/poker/sessions/${session.id}`, { token: ADMIN });
    expect(got.body.ended).toBe(true);
    expect(got.body.stories.map((s: any) => s.story_points)).toEqual([3, 8, 5, 1]);
  });
});

describe("poker room: votes", () => {
  it("hides votes from voters and spectators until every present voter has voted", async () => {
    const { stories, open, ids } = await setup();
    const mod = await open("mod");
    const spectator = await open("spectator");
    const alice = await open("alice");
    const bob = await open("bob");
    await mod.request("next_story_requested", {});
    await allEvent([mod, spectator, alice, bob], "story_changed");

    expect((await alice.request("vote_submitted", { choice: "3" })).status).toBe(200);
    const [m, s, a, b] = await allEvent([mod, spectator, alice, bob], "story_changed");
    const aliceVoter = { id: ids.alice, name: "Alice" };
    expect(m.data.votes).toEqual({ "3": [aliceVoter] });
    expect(s.data.votes).toEqual({});
    expect(a.data.votes).toEqual({ "3": [aliceVoter] });
    expect(b.data.votes).toEqual({});
    for (const f of [m, s, a, b]) {
      expect(f.data.revealed).toBe(false);
      expect(f.data.voted).toEqual([aliceVoter]);
    }
    expect(a.seq).toBe(m.seq);

    await bob.request("vote_submitted", { choice: "5" });
    const after = await allEvent([mod, spectator, alice, bob], "story_changed");
    for (const f of after) {
      expect(f.data.revealed).toBe(true);
      expect(f.data.votes).toEqual({ "3": [aliceVoter], "5": [{ id: ids.bob, name: "Bob" }] });
    }
    expect((await storyRow(stories[0].id))?.revealed).toBe(1);
    for (const ws of [mod, spectator, alice, bob]) ws.close();
  });

  it("hides votes from a spectator on join, on ?since= replay and on resync until the reveal", async () => {
    const { open, ids, path, tokens } = await setup();
    const mod = await open("mod");
    const alice = await open("alice");
    const bob = await open("bob");
    await mod.request("next_story_requested", {});
    await alice.event("story_changed");
    await alice.request("vote_submitted", { choice: "3" });
    const aliceVoter = { id: ids.alice, name: "Alice" };
    // toMatchObject would take any `votes` for `{}`: hidden views are compared whole.
    const isHidden = (view: any) =>
      expect({ votes: view.votes, voted: view.voted, revealed: view.revealed }).toEqual({
        votes: {},
        voted: [aliceVoter],
        revealed: false,
      });

    const joined = await connect(path, tokens.spectator);
    isHidden((await joined.event("story_changed")).data);
    const replayed = await connect(`${path}?since=0`, tokens.spectator);
    const vote = await replayed.next(
      (f) => f?.event === "story_changed" && f.seq !== undefined && f.data.voted.length,
      "the vote replayed",
    );
    isHidden(vote.data);
    const stories = replayed.frames.filter((f) => f?.event === "story_changed");
    expect(stories.length).toBeGreaterThan(0);
    for (const f of stories) expect(f.data.votes).toEqual({});
    const resynced = await connect(`${path}?since=999999`, tokens.spectator);
    const resync = await resynced.event("resync");
    isHidden(resync.data.story);

    await mod.request("reveal_requested", {});
    const revealed = { votes: { "3": [aliceVoter] }, revealed: true };
    for (const ws of [joined, replayed, resynced]) {
      expect((await ws.next((f) => f?.data?.revealed, "the reveal")).data).toMatchObject(revealed);
    }
    const late = await connect(`${path}?since=0`, tokens.spectator);
    expect((await late.next((f) => f?.data?.revealed, "the reveal replayed")).data).toMatchObject(
      revealed,
    );
    const lateResync = await connect(`${path}?since=999999`, tokens.spectator);
    expect((await lateResync.event("resync")).data.story).toMatchObject(revealed);
    for (const ws of [mod, alice, bob, joined, replayed, resynced, late, lateResync]) ws.close();
  });

  it("replaces a second vote, groups by choice ordered by count, refuses choices not in the deck", async () => {
    const voted = (n: number) => (f: any) =>
      f?.event === "story_changed" && f.data.voted.length === n;
    const { stories, open, ids, path } = await setup(["S1"], ["1", "2", "3", "?"]);
    const mod = await open("mod");
    const alice = await open("alice");
    const bob = await open("bob");
    const carol = await connect(
      path,
      await tokenFor(`carol-${ids.mod}`, [VOTE], { name: "Carol" }),
    );
    await mod.request("next_story_requested", {});
    await mod.event("story_changed");

    const bad = await alice.request("vote_submitted", { choice: "5" });
    expect(bad.status).toBe(400);
    expect(bad.errors.join()).toContain("choice");
    expect(await voteCount(stories[0].id)).toBe(0);

    await alice.request("vote_submitted", { choice: "1" });
    await alice.request("vote_submitted", { choice: "?" });
    await bob.request("vote_submitted", { choice: "?" });
    // Vote progress is paced (at most one frame per 250 ms): wait for the frame showing both.
    const third = await mod.next(voted(2), "story_changed with two voters");
    expect(third.data.votes).toEqual({
      "?": [
        { id: ids.alice, name: "Alice" },
        { id: ids.bob, name: "Bob" },
      ],
    });
    expect(await voteCount(stories[0].id)).toBe(2);
    await carol.request("vote_submitted", { choice: "2" });
    const all = await mod.next(voted(3), "story_changed with three voters");
    expect(Object.keys(all.data.votes).sort()).toEqual(["2", "?"]);
    expect(all.data.revealed).toBe(true);
    for (const ws of [mod, alice, bob, carol]) ws.close();
  });

  it("reveal_requested shows the votes to voters and can hide them again; reset clears them", async () => {
    const { stories, open, ids } = await setup();
    const mod = await open("mod");
    const alice = await open("alice");
    const bob = await open("bob");
    await mod.request("next_story_requested", {});
    await allEvent([alice, bob], "story_changed");
    await alice.request("vote_submitted", { choice: "8" });
    expect((await bob.event("story_changed")).data.votes).toEqual({});

    await mod.request("reveal_requested", {});
    const shown = await bob.event("story_changed");
    expect(shown.data).toMatchObject({
      revealed: true,
      votes: { "8": [{ id: ids.alice, name: "Alice" }] },
    });
    await mod.request("reveal_requested", { revealed: false });
    expect((await bob.event("story_changed")).data).toMatchObject({ revealed: false, votes: {} });

    await mod.request("reveal_requested", {});
    await bob.event("story_changed");
    await mod.request("reset_requested", {});
    const reset = await bob.event("story_changed");
    expect(reset.data).toMatchObject({ revealed: false, votes: {}, voted: [] });
    expect(await voteCount(stories[0].id)).toBe(0);
    expect((await storyRow(stories[0].id))?.revealed).toBe(0);
    for (const ws of [mod, alice, bob]) ws.close();
  });
});

describe("poker room: a full room at once", () => {
  it("groups joins and votes that queue up: fewer broadcasts, every vote stored and shown", async () => {
    const { stories, open, path } = await setup(["S1"]);
    const mod = await open("mod");
    await mod.request("next_story_requested", {});
    await mod.event("story_changed");
    const spectator = await open("spectator");
    const u = crypto.randomUUID().slice(0, 8);
    const tokens = await Promise.all(
      Array.from({ length: 12 }, (_, i) => tokenFor(`v${i}-${u}`, [VOTE], { name: `V${i}` })),
    );
    const voters = await Promise.all(tokens.map((t) => connect(path, t)));
    // Joins are coalesced (one frame per 250 ms): everyone ends up with the full list.
    const everyone = (f: any) =>
      f?.event === "participants_changed" && f.data.participants.length === 14;
    await Promise.all([spectator, ...voters].map((v) => v.next(everyone, "all 14 listed")));
    const lists = spectator.frames.filter((f) => f?.event === "participants_changed");
    expect(lists.length).toBeLessThan(voters.length);

    const replies = await Promise.all(
      voters.map((v, i) => v.request("vote_submitted", { choice: i % 2 ? "3" : "5" })),
    );
    expect(replies.map((r) => r.status)).toEqual(voters.map(() => 200));
    let broadcasts = 0;
    let last: any;
    do {
      last = await mod.event("story_changed");
      broadcasts++;
    } while (last.data.voted.length < voters.length);
    expect(broadcasts).toBeLessThan(voters.length);
    expect(last.data.revealed).toBe(true);
    expect(last.data.votes["3"]).toHaveLength(6);
    expect(last.data.votes["5"]).toHaveLength(6);
    expect(await voteCount(stories[0].id)).toBe(voters.length);
    for (const ws of [mod, spectator, ...voters]) ws.close();
  });
});

describe("poker room: story points", () => {
  it("sets points from a numeric option of the deck and broadcasts them", async () => {
    const { session, stories, open } = await setup();
    const mod = await open("mod");
    const alice = await open("alice");
    await mod.request("next_story_requested", {});
    await alice.event("story_changed");
    for (const story_points of ["Too large", "4", "No idea"]) {
      const reply = await mod.request("points_submitted", { story_points });
      expect(reply.status).toBe(400);
      expect(reply.errors.join()).toContain("story_points");
    }
    expect((await storyRow(stories[0].id))?.story_points).toBeNull();
    await mod.request("points_submitted", { story_points: "5" });
    const [m, a] = await allEvent([mod, alice], "story_points_submitted");
    expect(m.data).toEqual({ story_points: 5, story_id: stories[0].id });
    expect(a.data).toEqual(m.data);
    expect((await storyRow(stories[0].id))?.story_points).toBe(5);
    await alice.nothing((f) => f?.event === "story_changed");

    await mod.request("points_submitted", { story_points: 8 });
    expect((await alice.event("story_points_submitted")).data.story_points).toBe(8);

    const emitted = await env.DB.prepare(
      "SELECT data FROM webhook_events WHERE event_type = 'poker.story_points_submitted' AND data LIKE ?",
    )
      .bind(`%${session.id}%`)
      .all<{ data: string }>();
    expect(emitted.results.map((r) => JSON.parse(r.data))).toEqual([
      { session_id: session.id, story_id: stories[0].id, story_label: "S1", story_points: 5 },
      { session_id: session.id, story_id: stories[0].id, story_label: "S1", story_points: 8 },
    ]);
    mod.close();
    alice.close();
  });

  it("with advance: true moves to the next story in the same step", async () => {
    const { stories, open } = await setup();
    const mod = await open("mod");
    await mod.request("next_story_requested", {});
    await mod.event("story_changed");
    expect(
      (await mod.request("points_submitted", { story_points: "3", advance: true })).status,
    ).toBe(200);
    const points = await mod.event("story_points_submitted");
    const next = await mod.event("story_changed");
    expect(next.seq).toBe(points.seq + 1);
    expect(next.data.id).toBe(stories[1].id);
    mod.close();
  });
});
