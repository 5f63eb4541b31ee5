import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createInvite } from "../../../src/features/poker/invites";
import { pokerRoom } from "../../../src/features/poker/poker-room";
import { ADMIN, call, expectErrorShape, tokenFor } from "../../helpers/http";
import { connect, tryConnect } from "../../helpers/ws";

const MODERATE = "planning_poker.moderate";
const VOTE = "planning_poker.vote";

async function newSession(body: Record<string, unknown> = { name: "Sprint 12" }) {
  const res = await call("POST", "/api/poker/sessions", { token: ADMIN, body });
  expect(res.status).toBe(201);
  return res.body;
}

describe("poker REST: sessions", () => {
  it("creates a session with the original's defaults", async () => {
    const res = await call("POST", "/api/poker/sessions", {
      token: ADMIN,
      body: { name: "Sprint 12" },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: "Sprint 12",
      choices: ["1", "2", "3", "5", "8", "13", "21", "34", "Too large", "No idea"],
      end_redirect_url: "/poker/",
      active_story_id: null,
      ended: false,
    });
    expect(typeof res.body.id).toBe("string");
  });

  it("takes choices and end_redirect_url, for admins and moderators only", async () => {
    const body = { name: "S", choices: ["1", "2", "3", "?"], end_redirect_url: "/done" };
    const mod = await tokenFor("m1", [MODERATE]);
    const res = await call("POST", "/api/poker/sessions", { token: mod, body });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ choices: ["1", "2", "3", "?"], end_redirect_url: "/done" });

    const voter = await tokenFor("v1", [VOTE]);
    const refused = await call("POST", "/api/poker/sessions", { token: voter, body });
    expect(refused.status).toBe(403);
    expectErrorShape(refused.body);
    expect((await call("POST", "/api/poker/sessions", { body })).status).toBe(401);
  });

  it("answers invalid input with 400 naming the fields, storing nothing", async () => {
    const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM poker_sessions").first<{
      n: number;
    }>();
    for (const body of [
      {},
      { name: "" },
      { name: "S", choices: [] },
      { name: "S", choices: ["1", "1"] },
      { name: "S", end_redirect_url: "javascript:alert(1)" },
      { name: "S", extra: true },
    ]) {
      const res = await call("POST", "/api/poker/sessions", { token: ADMIN, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe("bad_request");
      expect(res.body.error.details).toBeTypeOf("object");
    }
    const after = await env.DB.prepare("SELECT COUNT(*) AS n FROM poker_sessions").first<{
      n: number;
    }>();
    expect(after?.n).toBe(before?.n);
  });

  it("returns the session with its stories in order to any valid token", async () => {
    const session = await newSession();
    for (const label of ["A", "B", "C"]) {
      const res = await call("POST", `/api/poker/sessions/${session.id}/stories`, {
        token: ADMIN,
        body: { story_label: label, description: `<p>${label}</p>` },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ story_label: label, story_points: null });
    }
    const got = await call("GET", `/api/poker/sessions/${session.id}`, {
      token: await tokenFor("anyone"),
    });
    expect(got.status).toBe(200);
    expect(got.body.stories.map((s: any) => [s.story_label, s.position])).toEqual([
      ["A", 0],
      ["B", 1],
      ["C", 2],
    ]);
    expect((await call("GET", `/api/poker/sessions/${session.id}`)).status).toBe(401);
    const missing = await call("GET", `/api/poker/sessions/${crypto.randomUUID()}`, {
      token: ADMIN,
    });
    expect(missing.status).toBe(404);
    expectErrorShape(missing.body);
  });

  it("sanitises story descriptions", async () => {
    const session = await newSession();
    const res = await call("POST", `/api/poker/sessions/${session.id}/stories`, {
      token: ADMIN,
      body: {
        story_label: "X",
        description:
          '<p><strong>Keep</strong></p><script>alert(1)</script><img src=x onerror="alert(1)"><a href="javascript:alert(1)">x</a>',
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.description).toContain("<p><strong>Keep</strong></p>");
    expect(res.body.description).not.toMatch(/script|onerror|javascript/i);
  });

  it("refuses stories from voters and for unknown sessions", async () => {
    const session = await newSession();
    const voter = await tokenFor("v2", [VOTE]);
    const body = { story_label: "X" };
    expect(
      (await call("POST", `/api/poker/sessions/${session.id}/stories`, { token: voter, body }))
        .status,
    ).toBe(403);
    expect(
      (
        await call("POST", `/api/poker/sessions/${crypto.randomUUID()}/stories`, {
          token: ADMIN,
          body,
        })
      ).status,
    ).toBe(404);
    const invalid = await call("POST", `/api/poker/sessions/${session.id}/stories`, {
      token: ADMIN,
      body: { story_label: "" },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details).toHaveProperty("story_label");
  });

  it("ends a session once: 409 afterwards, 410 for new stories, invites and sockets", async () => {
    const session = await newSession();
    const mod = await tokenFor("m-end", [MODERATE]);
    const voter = await tokenFor("v-end", [VOTE]);
    expect(
      (await call("POST", `/api/poker/sessions/${session.id}/end`, { token: voter })).status,
    ).toBe(403);
    const res = await call("POST", `/api/poker/sessions/${session.id}/end`, { token: mod });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: session.id, ended: true, active_story_id: null });
    const again = await call("POST", `/api/poker/sessions/${session.id}/end`, { token: mod });
    expect(again.status).toBe(409);
    const story = await call("POST", `/api/poker/sessions/${session.id}/stories`, {
      token: mod,
      body: { story_label: "late" },
    });
    expect(story.status).toBe(410);
    expect(story.body.error.code).toBe("gone");
    const invite = await call("POST", `/api/poker/sessions/${session.id}/invites`, {
      token: mod,
      body: {},
    });
    expect(invite.status).toBe(410);
    const ws = (await tryConnect(`/ws/poker/${session.id}`, voter)) as Response;
    expect(ws.status).toBe(410);
    expect((await ws.json<any>()).error.code).toBe("gone");
    expect(
      (await call("POST", `/api/poker/sessions/${crypto.randomUUID()}/end`, { token: mod })).status,
    ).toBe(404);
  });
});

describe("poker REST: the room is the only writer of its session", () => {
  it("answers its RPC errors as themselves: 404, 409 and 410 in the contract's shape, never 500", async () => {
    const session = await newSession();
    const unknown = crypto.randomUUID();
    const story = { story_label: "S", description: "" };
    const missing = await call("POST", `/api/poker/sessions/${unknown}/stories`, {
      token: ADMIN,
      body: story,
    });
    expect(missing.status).toBe(404);
    expectErrorShape(missing.body);
    expect(missing.body.error.code).toBe("not_found");

    expect(
      (await call("POST", `/api/poker/sessions/${session.id}/end`, { token: ADMIN })).status,
    ).toBe(200);
    const again = await call("POST", `/api/poker/sessions/${session.id}/end`, { token: ADMIN });
    expect(again.status).toBe(409);
    expectErrorShape(again.body);
    expect(again.body.error.code).toBe("conflict");
    const late = await call("POST", `/api/poker/sessions/${session.id}/stories`, {
      token: ADMIN,
      body: story,
    });
    expect(late.status).toBe(410);
    expectErrorShape(late.body);
    expect(late.body.error.code).toBe("gone");

    // What crosses the RPC boundary is the result, not a thrown error that loses its class.
    const room = pokerRoom(env, session.id);
    const input = { storyLabel: "S", description: "" };
    expect(await room.addStory(session.id, input)).toMatchObject({
      ok: false,
      error: { code: "gone" },
    });
    expect(await room.end(session.id)).toMatchObject({ ok: false, error: { code: "conflict" } });
    expect(await pokerRoom(env, unknown).addStory(unknown, input)).toMatchObject({
      ok: false,
      error: { code: "not_found" },
    });
    const stored = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM poker_stories WHERE session_id IN (?, ?)",
    )
      .bind(session.id, unknown)
      .first<{ n: number }>();
    expect(stored?.n).toBe(0);
  });

  it("adds stories racing the session's end before it (201) or refuses them (410), never after it", async () => {
    const session = await newSession();
    const adds = Array.from({ length: 20 }, (_, i) =>
      call("POST", `/api/poker/sessions/${session.id}/stories`, {
        token: ADMIN,
        body: { story_label: `S${i}` },
      }),
    );
    const [ended, ...answers] = await Promise.all([
      call("POST", `/api/poker/sessions/${session.id}/end`, { token: ADMIN }),
      ...adds,
    ]);
    expect(ended.status).toBe(200);
    expect(answers.map((a) => a.status).every((s) => s === 201 || s === 410)).toBe(true);
    const rows = await env.DB.prepare(
      "SELECT st.created_at AS created, s.ended_at AS ended FROM poker_stories st JOIN poker_sessions s ON s.id = st.session_id WHERE s.id = ?",
    )
      .bind(session.id)
      .all<{ created: string; ended: string }>();
    expect(rows.results.length).toBe(answers.filter((a) => a.status === 201).length);
    for (const row of rows.results) expect(row.created <= row.ended).toBe(true);
  });
});

describe("poker REST: invites", () => {
  it("lets a person join with a voter invite and a name, as a new voter", async () => {
    const session = await newSession();
    const res = await call("POST", `/api/poker/sessions/${session.id}/invites`, {
      token: ADMIN,
      body: {},
    });
    expect(res.status).toBe(201);
    expect(res.body.role).toBe("voter");
    const url = new URL(res.body.url);
    expect(url.pathname).toBe("/poker/");
    expect(url.searchParams.get("session")).toBe(session.id);
    expect(url.searchParams.get("invite")).toBe(res.body.invite);

    const joined = await call("POST", `/api/poker/sessions/${session.id}/join`, {
      body: { invite: res.body.invite, name: "Ada" },
    });
    expect(joined.status).toBe(201);
    expect(joined.body.user.name).toBe("Ada");
    expect(joined.body.permissions).toEqual([VOTE]);
    const second = await call("POST", `/api/poker/sessions/${session.id}/join`, {
      body: { invite: res.body.invite, name: "Ada" },
    });
    expect(second.body.user.id).not.toBe(joined.body.user.id);

    const ws = await connect(`/ws/poker/${session.id}`, joined.body.token);
    const participants = await ws.event("participants_changed");
    expect(participants.data.participants).toEqual([
      { id: joined.body.user.id, name: "Ada", username: "Ada", permissions: [VOTE] },
    ]);
    ws.close();
  });

  it("grants planning_poker.moderate with a moderator invite", async () => {
    const session = await newSession();
    const mod = await tokenFor("m-inv", [MODERATE]);
    const res = await call("POST", `/api/poker/sessions/${session.id}/invites`, {
      token: mod,
      body: { role: "moderator" },
    });
    const joined = await call("POST", `/api/poker/sessions/${session.id}/join`, {
      body: { invite: res.body.invite, name: "Grace" },
    });
    expect(joined.body.permissions).toEqual([MODERATE]);
  });

  it("binds an invite's token to its session: it votes and moderates there, nowhere else", async () => {
    const a = await newSession();
    const b = await newSession();
    for (const s of [a, b]) {
      await call("POST", `/api/poker/sessions/${s.id}/stories`, {
        token: ADMIN,
        body: { story_label: "S" },
      });
    }
    const invite = (role: string) =>
      call("POST", `/api/poker/sessions/${a.id}/invites`, { token: ADMIN, body: { role } });
    const joinA = async (role: string) =>
      (
        await call("POST", `/api/poker/sessions/${a.id}/join`, {
          body: { invite: (await invite(role)).body.invite, name: role },
        })
      ).body;
    const guest = await joinA("voter");
    const host = await joinA("moderator");

    // REST: the moderator invite adds stories and invites in its session only.
    const story = (id: string) =>
      call("POST", `/api/poker/sessions/${id}/stories`, {
        token: host.token,
        body: { story_label: "More" },
      });
    expect((await story(a.id)).status).toBe(201);
    expect((await story(b.id)).status).toBe(403);
    expect(
      (await call("POST", "/api/poker/sessions", { token: host.token, body: { name: "Mine" } }))
        .status,
    ).toBe(403);

    // Sockets: both act in A; in B they are spectators.
    for (const [id, allowed] of [
      [a.id, 200],
      [b.id, 403],
    ] as const) {
      const mod = await connect(`/ws/poker/${id}`, host.token);
      expect((await mod.request("next_story_requested", {})).status).toBe(allowed);
      await mod.event("participants_changed");
      const voter = await connect(`/ws/poker/${id}`, guest.token);
      const listed = await voter.event("participants_changed");
      const self = listed.data.participants.find((p: any) => p.id === guest.user.id);
      expect(self.permissions).toEqual(allowed === 200 ? [VOTE] : []);
      const vote = await voter.request("vote_submitted", { choice: "3" });
      expect(vote.status).toBe(allowed === 200 ? 200 : 403);
      mod.close();
      voter.close();
    }
  });

  it("refuses forged, foreign and expired invites, and voters creating invites", async () => {
    const a = await newSession();
    const b = await newSession();
    const voter = await tokenFor("v-inv", [VOTE]);
    expect(
      (await call("POST", `/api/poker/sessions/${a.id}/invites`, { token: voter, body: {} }))
        .status,
    ).toBe(403);
    const inviteA = (
      await call("POST", `/api/poker/sessions/${a.id}/invites`, { token: ADMIN, body: {} })
    ).body.invite;
    const join = (id: string, invite: string) =>
      call("POST", `/api/poker/sessions/${id}/join`, { body: { invite, name: "Eve" } });
    expect((await join(b.id, inviteA)).status).toBe(403);
    expect((await join(a.id, `${inviteA}x`)).status).toBe(403);
    // A client token is signed with the same secret but is not an invite.
    expect((await join(a.id, voter)).status).toBe(403);
    expect(
      (
        await call("POST", `/api/poker/sessions/${a.id}/invites`, {
          token: ADMIN,
          body: { ttl_seconds: 1 },
        })
      ).status,
    ).toBe(400);
    const short = (await createInvite(env.TOKEN_SECRET, a.id, "voter", 1)).invite;
    await new Promise((r) => setTimeout(r, 2100));
    expect((await join(a.id, short)).status).toBe(403);
    const bad = await call("POST", `/api/poker/sessions/${a.id}/join`, {
      body: { invite: inviteA, name: "" },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toHaveProperty("name");
  });
});
