import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createInvite } from "../../../src/features/poker/invites";
import { ADMIN, call, expectErrorShape, tokenFor } from "../../helpers/http";
import { connect } from "../../helpers/ws";

const MODERATE = "planning_poker.moderate";
const VOTE = "planning_poker.vote";

const newSession = async (name = "Summary") =>
  (await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name } })).body;

const addStory = async (sessionId: string, story_label: string) =>
  (
    await call("POST", `/api/poker/sessions/${sessionId}/stories`, {
      token: ADMIN,
      body: { story_label },
    })
  ).body;

const inviteFor = async (sessionId: string, role = "voter") =>
  (
    await call("POST", `/api/poker/sessions/${sessionId}/invites`, {
      token: ADMIN,
      body: { role },
    })
  ).body.invite as string;

/**
 * S1: revealed by everyone voting (5, 8, No idea); S2: one vote, never revealed; S3: revealed
 * consensus on 3 with points 3; S4: no votes, a label a spreadsheet would run.
 */
async function playedSession() {
  const session = await newSession();
  const labels = ["S1", "S2", "S3", '=HYPERLINK("http://x","a, b")'];
  const stories: any[] = [];
  for (const label of labels) stories.push(await addStory(session.id, label));
  const u = crypto.randomUUID().slice(0, 8);
  const path = `/ws/poker/${session.id}`;
  const mod = await connect(path, await tokenFor(`mod-${u}`, [MODERATE], { name: "Mona" }));
  const voters = [];
  for (const name of ["Ada", "Bo", "Cy"]) {
    voters.push(await connect(path, await tokenFor(`${name}-${u}`, [VOTE], { name })));
  }
  const [ada, bo, cy] = voters as [any, any, any];
  await mod.request("next_story_requested", {});
  await ada.request("vote_submitted", { choice: "5" });
  await bo.request("vote_submitted", { choice: "8" });
  await cy.request("vote_submitted", { choice: "No idea" });
  await mod.next((f) => f?.event === "story_changed" && f.data.revealed, "S1 revealed");
  await mod.request("next_story_requested", {});
  await ada.request("vote_submitted", { choice: "13" });
  await mod.request("next_story_requested", {});
  await ada.request("vote_submitted", { choice: "3" });
  await bo.request("vote_submitted", { choice: "3" });
  await mod.request("reveal_requested", {});
  await mod.request("points_submitted", { story_points: "3" });
  for (const ws of [mod, ...voters]) ws.close();
  return { session, stories, u };
}

const summaryOf = (id: string, token?: string, headers?: Record<string, string>) =>
  call("GET", `/api/poker/sessions/${id}/summary`, { token, headers });

describe("poker summary", () => {
  it("answers the stories with votes as revealed and numeric stats (JSON)", async () => {
    const { session, stories, u } = await playedSession();
    const res = await summaryOf(session.id, ADMIN);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("application/json");
    const voter = (name: string) => ({ id: `${name}-${u}`, name });
    expect(res.body).toEqual({
      id: session.id,
      name: "Summary",
      ended: false,
      end_redirect_url: "/poker/",
      stories: [
        {
          id: stories[0].id,
          story_label: "S1",
          story_points: null,
          votes: { "5": [voter("Ada")], "8": [voter("Bo")], "No idea": [voter("Cy")] },
          stats: { count: 3, mean: 6.5, median: 6.5, min: 5, max: 8, consensus: false },
        },
        {
          id: stories[1].id,
          story_label: "S2",
          story_points: null,
          votes: {},
          stats: { count: 0, mean: null, median: null, min: null, max: null, consensus: false },
        },
        {
          id: stories[2].id,
          story_label: "S3",
          story_points: 3,
          votes: { "3": [voter("Ada"), voter("Bo")] },
          stats: { count: 2, mean: 3, median: 3, min: 3, max: 3, consensus: true },
        },
        {
          id: stories[3].id,
          story_label: '=HYPERLINK("http://x","a, b")',
          story_points: null,
          votes: {},
          stats: { count: 0, mean: null, median: null, min: null, max: null, consensus: false },
        },
      ],
    });
  });

  it("answers CSV with Accept: text/csv, quoted and safe from formula injection", async () => {
    const { session } = await playedSession();
    const res = await summaryOf(session.id, ADMIN, { Accept: "text/csv" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
    expect(res.body).toBe(
      [
        "story_label,story_points,votes,mean,median,consensus",
        "S1,,3,6.5,6.5,false",
        "S2,,0,,,false",
        "S3,3,2,3,3,true",
        `"'=HYPERLINK(""http://x"",""a, b"")",,0,,,false`,
        "",
      ].join("\r\n"),
    );
    // JSON stays the answer unless CSV is preferred.
    const json = await summaryOf(session.id, ADMIN, { Accept: "application/json, text/csv;q=0.5" });
    expect(json.headers.get("Content-Type")).toContain("application/json");
  });

  it("admits the admin and the session's moderators, voters and guests; refuses others", async () => {
    const session = await newSession();
    const other = await newSession("Other");
    const join = async (id: string) =>
      (
        await call("POST", `/api/poker/sessions/${id}/join`, {
          body: { invite: await inviteFor(id), name: "Guest" },
        })
      ).body.token as string;
    const u = crypto.randomUUID().slice(0, 8);
    const allowed = [
      ADMIN,
      await tokenFor(`m-${u}`, [MODERATE]),
      await tokenFor(`v-${u}`, [VOTE]),
      await join(session.id),
    ];
    for (const token of allowed) expect((await summaryOf(session.id, token)).status).toBe(200);
    for (const token of [await join(other.id), await tokenFor(`s-${u}`, ["bus.publish"])]) {
      const res = await summaryOf(session.id, token);
      expect(res.status).toBe(403);
      expectErrorShape(res.body);
    }
    expect((await summaryOf(session.id)).status).toBe(401);
    const unknown = await summaryOf(crypto.randomUUID(), ADMIN);
    expect(unknown.status).toBe(404);
    expectErrorShape(unknown.body);
  });

  it("still answers once the session has ended", async () => {
    const session = await newSession();
    await call("POST", `/api/poker/sessions/${session.id}/end`, { token: ADMIN });
    const res = await summaryOf(session.id, ADMIN);
    expect(res.body).toMatchObject({ ended: true, stories: [] });
  });
});

describe("poker invite preview", () => {
  const preview = (id: string, body: unknown) =>
    call("POST", `/api/poker/sessions/${id}/invite-preview`, { body });

  it("tells the join page whose session an invite is for and its role, without a token", async () => {
    const session = await newSession("Sprint 7");
    const res = await preview(session.id, { invite: await inviteFor(session.id) });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      session_id: session.id,
      name: "Sprint 7",
      ended: false,
      role: "voter",
    });
    const mod = await preview(session.id, { invite: await inviteFor(session.id, "moderator") });
    expect(mod.body.role).toBe("moderator");
  });

  it("answers ended: true for an ended session instead of 410", async () => {
    const session = await newSession();
    const invite = await inviteFor(session.id);
    await call("POST", `/api/poker/sessions/${session.id}/end`, { token: ADMIN });
    const res = await preview(session.id, { invite });
    expect(res.status).toBe(200);
    expect(res.body.ended).toBe(true);
  });

  it("refuses forged and other sessions' invites (403), unknown sessions (404), bad bodies (400)", async () => {
    const session = await newSession();
    const other = await newSession();
    const invite = await inviteFor(session.id);
    for (const bad of [`${invite}x`, await inviteFor(other.id), await tokenFor("not-an-invite")]) {
      const res = await preview(session.id, { invite: bad });
      expect(res.status).toBe(403);
      expectErrorShape(res.body);
    }
    const ghost = crypto.randomUUID();
    const ghostInvite = (await createInvite(env.TOKEN_SECRET, ghost, "voter", 600)).invite;
    expect((await preview(ghost, { invite: ghostInvite })).status).toBe(404);
    for (const body of [{}, { invite: "" }, { invite, name: "x" }]) {
      const res = await preview(session.id, body);
      expect(res.status).toBe(400);
      expect(res.body.error.details).toBeDefined();
    }
  });
});
