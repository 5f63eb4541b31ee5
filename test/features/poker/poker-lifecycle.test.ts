import {
  abortAllDurableObjects,
  env,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type { PokerRoom } from "../../../src/features/poker/poker-room";
import { ADMIN, call, tokenFor } from "../../helpers/http";
import { connect, tryConnect } from "../../helpers/ws";
import { runAlarmPastGrace, waitInGrace } from "./support";

const MODERATE = "planning_poker.moderate";
const VOTE = "planning_poker.vote";

async function setup(labels = ["S1", "S2"]) {
  const session = (
    await call("POST", "/api/poker/sessions", {
      token: ADMIN,
      body: { name: "Lifecycle", end_redirect_url: "/poker/?done=1" },
    })
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
  const ids = { mod: `mod-${u}`, zoe: `zoe-${u}`, adam: `adam-${u}`, spec: `spec-${u}` };
  const tokens = {
    mod: await tokenFor(ids.mod, [MODERATE], { name: "Mona" }),
    zoe: await tokenFor(ids.zoe, [VOTE], { name: "Zoe" }),
    adam: await tokenFor(ids.adam, [VOTE, "bus.publish"], { name: "Adam" }),
    spec: await tokenFor(ids.spec, [], { name: "Sam" }),
  };
  const path = `/ws/poker/${session.id}`;
  const stub = env.POKER_ROOM.get(env.POKER_ROOM.idFromName(session.id));
  return {
    session,
    stories,
    ids,
    tokens,
    path,
    stub,
    open: (who: keyof typeof tokens) => connect(path, tokens[who]),
  };
}

const names = (frame: any) => frame.data.participants.map((p: any) => p.name);

describe("poker room: participants", () => {
  it("lists participants on join and leave (past the grace), sorted by name, one entry per user", async () => {
    const { open, ids, stub } = await setup();
    const zoe = await open("zoe");
    expect(names(await zoe.event("participants_changed"))).toEqual(["Zoe"]);
    const mod = await open("mod");
    expect(names(await zoe.event("participants_changed"))).toEqual(["Mona", "Zoe"]);
    const adam = await open("adam");
    const all = await zoe.event("participants_changed");
    expect(all.seq).toBeUndefined();
    expect(all.data.participants).toEqual([
      { id: ids.adam, name: "Adam", username: "Adam", permissions: [VOTE] },
      { id: ids.mod, name: "Mona", username: "Mona", permissions: [MODERATE] },
      { id: ids.zoe, name: "Zoe", username: "Zoe", permissions: [VOTE] },
    ]);

    // A second socket of Adam changes nothing for the others but gets the list itself.
    const adam2 = await open("adam");
    expect(names(await adam2.event("participants_changed"))).toEqual(["Adam", "Mona", "Zoe"]);
    await zoe.nothing((f) => f?.event === "participants_changed");
    adam.close();
    await zoe.nothing((f) => f?.event === "participants_changed");
    adam2.close();
    await waitInGrace(stub, ids.adam);
    await zoe.nothing((f) => f?.event === "participants_changed");
    await runAlarmPastGrace(stub);
    expect(names(await zoe.event("participants_changed"))).toEqual(["Mona", "Zoe"]);
    mod.close();
    await waitInGrace(stub, ids.mod);
    await runAlarmPastGrace(stub);
    expect(names(await zoe.event("participants_changed"))).toEqual(["Zoe"]);
    zoe.close();
  });

  it("records the participants in D1", async () => {
    const { open, session, ids, stub } = await setup();
    const zoe = await open("zoe");
    const spec = await open("spec");
    await zoe.event("participants_changed");
    await zoe.event("participants_changed");
    const rows = await env.DB.prepare(
      "SELECT user_id, name, permissions FROM poker_participants WHERE session_id = ? ORDER BY name",
    )
      .bind(session.id)
      .all();
    expect(rows.results).toEqual([
      { user_id: ids.spec, name: "Sam", permissions: "[]" },
      { user_id: ids.zoe, name: "Zoe", permissions: JSON.stringify([VOTE]) },
    ]);
    const joinedAt = () =>
      env.DB.prepare(
        "SELECT user_id, joined_at FROM poker_participants WHERE session_id = ? ORDER BY user_id",
      )
        .bind(session.id)
        .all();
    const before = (await joinedAt()).results;

    // A leave removes only that row; the others keep the row (and joined_at) they had.
    spec.close();
    await waitInGrace(stub, ids.spec);
    await runAlarmPastGrace(stub);
    await zoe.event("participants_changed");
    const mod = await open("mod");
    await zoe.event("participants_changed");
    const after = (await joinedAt()).results;
    expect(after.find((r) => r.user_id === ids.spec)).toBeUndefined();
    expect(after.find((r) => r.user_id === ids.zoe)).toEqual(
      before.find((r) => r.user_id === ids.zoe),
    );
    expect(after.map((r) => r.user_id).sort()).toEqual([ids.mod, ids.zoe].sort());
    zoe.close();
    mod.close();
  });

  it("drops a participant silent for 60 s (no heartbeat, no ping) in the alarm sweep", async () => {
    const { open, stub } = await setup();
    const zoe = await open("zoe");
    const mod = await open("mod");
    await zoe.event("participants_changed");
    await zoe.event("participants_changed");
    await mod.event("participants_changed");
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 45_000);
      expect((await mod.request("heartbeat", {})).status).toBe(200);
      vi.setSystemTime(Date.now() + 20_000);
      expect(await runDurableObjectAlarm(stub)).toBe(true);
    } finally {
      vi.useRealTimers();
    }
    expect((await zoe.waitClosed()).code).toBe(4000);
    expect(names(await mod.event("participants_changed"))).toEqual(["Mona"]);
    mod.close();
  });

  it("reveals the votes when the last voter who had not voted leaves, once past the grace", async () => {
    const { open, stub, ids } = await setup();
    const mod = await open("mod");
    const zoe = await open("zoe");
    const adam = await open("adam");
    await mod.request("next_story_requested", {});
    await zoe.event("story_changed");
    await zoe.request("vote_submitted", { choice: "5" });
    expect((await zoe.event("story_changed")).data.revealed).toBe(false);
    adam.close();
    await waitInGrace(stub, ids.adam);
    await zoe.nothing((f) => f?.event === "story_changed");
    await runAlarmPastGrace(stub);
    const shown = await zoe.event("story_changed");
    expect(shown.data.revealed).toBe(true);
    expect(Object.keys(shown.data.votes)).toEqual(["5"]);
    mod.close();
    zoe.close();
  });
});

describe("poker room: ending", () => {
  it("ends via REST: poker_session_ended to all, sockets closed, 410 afterwards, event emitted", async () => {
    const { open, session, path, tokens } = await setup();
    const mod = await open("mod");
    const zoe = await open("zoe");
    const res = await call("POST", `/api/poker/sessions/${session.id}/end`, { token: ADMIN });
    expect(res.status).toBe(200);
    for (const ws of [mod, zoe]) {
      const ended = await ws.event("poker_session_ended");
      expect(ended.data).toEqual({ poker_session_end_redirect_url: "/poker/?done=1" });
      expect(typeof ended.seq).toBe("number");
      expect((await ws.waitClosed()).code).toBe(4410);
    }
    const late = (await tryConnect(path, tokens.zoe)) as Response;
    expect(late.status).toBe(410);
    const emitted = await env.DB.prepare(
      "SELECT data FROM webhook_events WHERE event_type = 'poker.session_ended' AND data LIKE ?",
    )
      .bind(`%${session.id}%`)
      .all<{ data: string }>();
    expect(emitted.results.map((r) => JSON.parse(r.data))).toEqual([
      { session_id: session.id, name: "Lifecycle", ended_at: res.body.ended_at },
    ]);
  });

  it("ends when next_story_requested finds no story left; the moderator still gets its reply", async () => {
    const { open, session } = await setup(["Only"]);
    const mod = await open("mod");
    const zoe = await open("zoe");
    await mod.request("next_story_requested", {});
    await mod.request("points_submitted", { story_points: "2" });
    expect((await mod.request("next_story_requested", {})).status).toBe(200);
    await zoe.event("poker_session_ended");
    expect((await zoe.waitClosed()).code).toBe(4410);
    const got = await call("GET", `/api/poker/sessions/${session.id}`, { token: ADMIN });
    expect(got.body).toMatchObject({ ended: true, active_story_id: null });
  });

  it("refuses a connection that reaches the room after it ended with 410", async () => {
    const { stub, session } = await setup();
    await call("POST", `/api/poker/sessions/${session.id}/end`, { token: ADMIN });
    const res = await stub.fetch(`http://room/ws/poker/${session.id}`, {
      headers: { Upgrade: "websocket" },
    });
    expect(res.status).toBe(410);
  });
});

describe("poker room: resume and REST changes", () => {
  it("replays missed events with ?since= in each socket's own view, or sends resync", async () => {
    const { open, path, tokens, ids } = await setup();
    const mod = await open("mod");
    const zoe = await open("zoe");
    const adam = await open("adam");
    await mod.request("next_story_requested", {});
    const first = await zoe.event("story_changed");
    // Zoe stays present on another socket, so Adam's vote stays hidden from her.
    const zoeElsewhere = await open("zoe");
    zoe.close();
    await adam.request("vote_submitted", { choice: "5" });
    await mod.event("story_changed");

    const resumed = await connect(`${path}?since=${first.seq}`, tokens.zoe);
    const replayed = await resumed.next(
      (f) => f?.event === "story_changed" && f.seq === first.seq + 1,
      "replayed vote",
    );
    expect(replayed.data.votes).toEqual({});
    expect(replayed.data.voted).toEqual([{ id: ids.adam, name: "Adam" }]);

    const resync = await connect(`${path}?since=999999`, tokens.zoe);
    const snapshot = await resync.event("resync");
    expect(snapshot.data.session).toMatchObject({ id: expect.any(String), ended: false });
    expect(snapshot.data.story).toMatchObject({ id: first.data.id, votes: {}, revealed: false });
    expect(snapshot.data.participants.map((p: any) => p.name)).toEqual(["Adam", "Mona", "Zoe"]);
    for (const ws of [mod, adam, zoeElsewhere, resumed, resync]) ws.close();
  });

  it("tells connected clients about stories added over REST", async () => {
    const { open, session } = await setup([]);
    const mod = await open("mod");
    const res = await call("POST", `/api/poker/sessions/${session.id}/stories`, {
      token: ADMIN,
      body: { story_label: "Late", description: "<p>x</p>" },
    });
    const added = await mod.event("story_added");
    expect(added.data).toEqual(res.body);
    expect(typeof added.seq).toBe("number");
    mod.close();
  });
});

describe("poker room: eviction", () => {
  it("shows the same story, votes and reveal state after the object is rebuilt", async () => {
    const { open, ids, stories, session } = await setup();
    const mod = await open("mod");
    const zoe = await open("zoe");
    const adam = await open("adam");
    await mod.request("next_story_requested", { story_id: stories[1].id });
    await zoe.request("vote_submitted", { choice: "8" });
    await mod.request("reveal_requested", {});
    const before = (
      await zoe.next((f) => f?.event === "story_changed" && f.data.revealed, "reveal")
    ).data;
    await abortAllDurableObjects();
    await zoe.waitClosed();

    const again = await connect(`/ws/poker/${session.id}`, (await setupToken(ids.adam)).token);
    const story = await again.event("story_changed");
    expect(story.data).toEqual(before);
    expect(story.data.votes).toEqual({ "8": [{ id: ids.zoe, name: "Zoe" }] });
    // The eviction dropped every socket without a close: their users are in the leave grace,
    // as after a reload, so they stay listed until it ends.
    expect(names(await again.event("participants_changed"))).toEqual(["Adam", "Mona", "Zoe"]);
    const zoeAgain = await open("zoe");
    expect((await zoeAgain.request("vote_submitted", { choice: "3" })).status).toBe(200);
    const replaced = await again.event("story_changed");
    expect(replaced.data.votes).toEqual({ "3": [{ id: ids.zoe, name: "Zoe" }] });
    for (const ws of [mod, adam, again, zoeAgain]) ws.close();
  });

  it("keeps hiding votes when a hibernated room handles a frame with nothing in memory", async () => {
    const { open, stub } = await setup();
    const mod = await open("mod");
    const zoe = await open("zoe");
    const adam = await open("adam");
    await mod.request("next_story_requested", {});
    await adam.event("story_changed");
    await zoe.event("story_changed");
    // Drive the handler with a fresh view of the sockets, as after waking from hibernation.
    await runInDurableObject(stub, async (instance: unknown, state) => {
      const room = instance as PokerRoom;
      const zoeSocket = state
        .getWebSockets()
        .find((ws) => (ws.deserializeAttachment() as any).name === "Zoe")!;
      await room.webSocketMessage(
        zoeSocket,
        JSON.stringify({ event: "vote_submitted", data: { choice: "13" } }),
      );
    });
    const seen = await adam.event("story_changed");
    expect(seen.data.votes).toEqual({});
    expect(seen.data.voted.map((v: any) => v.name)).toEqual(["Zoe"]);
    const own = await zoe.event("story_changed");
    expect(Object.keys(own.data.votes)).toEqual(["13"]);
    for (const ws of [mod, zoe, adam]) ws.close();
  });
});

async function setupToken(id: string) {
  return { token: await tokenFor(id, [VOTE], { name: "Adam" }) };
}
