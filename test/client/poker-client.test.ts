import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  PokerApi,
  PokerApiError,
  PokerRoomClient,
  type PokerStoryView,
  type PokerTimer,
} from "../../src/client/poker";
import type { WebSocketLike } from "../../src/client/room-client";
import { ADMIN, BASE } from "../helpers/http";

/** workerd cannot dial its own test worker by URL: sockets and calls go through SELF. */
async function viaWorker(url: string): Promise<WebSocketLike> {
  const res = await SELF.fetch(url.replace(/^ws/, "http"), { headers: { Upgrade: "websocket" } });
  if (!res.webSocket) throw new Error(`upgrade refused: ${res.status}`);
  res.webSocket.accept();
  return res.webSocket as unknown as WebSocketLike;
}

const api = new PokerApi(BASE, (input, init) => SELF.fetch(input as string, init));

function nextEvent<T>(client: PokerRoomClient, event: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within 3 s`)), 3_000);
    const off = client.on<T>(event, (data) => {
      clearTimeout(timer);
      off();
      resolve(data);
    });
  });
}

describe("poker SDK against the real Worker", () => {
  it("creates, invites, joins and plays through PokerApi and PokerRoomClient", async () => {
    const session = await api.createSession(ADMIN, { name: "SDK", choices: ["1", "2", "?"] });
    const story = await api.addStory(ADMIN, session.id, { story_label: "One" });
    const invite = await api.createInvite(ADMIN, session.id, { role: "voter" });
    const joined = await api.join(session.id, { invite: invite.invite, name: "Ada" });
    const mod = await api.join(session.id, {
      invite: (await api.createInvite(ADMIN, session.id, { role: "moderator" })).invite,
      name: "Mona",
    });

    const options = { connect: viaWorker };
    const moderator = new PokerRoomClient(BASE, session.id, { ...options, token: () => mod.token });
    const voter = new PokerRoomClient(BASE, session.id, { ...options, token: () => joined.token });
    const shown = nextEvent<PokerStoryView>(voter, "story_changed");
    expect((await moderator.nextStory()).status).toBe(200);
    expect((await shown).id).toBe(story.id);

    const voted = nextEvent<PokerStoryView>(moderator, "story_changed");
    expect((await voter.vote("2")).status).toBe(200);
    expect((await voted).votes).toEqual({ "2": [{ id: joined.user.id, name: "Ada" }] });
    expect((await voter.vote("7")).status).toBe(400);

    const points = nextEvent<{ story_points: number }>(voter, "story_points_submitted");
    expect((await moderator.submitPoints("2")).status).toBe(200);
    expect((await points).story_points).toBe(2);
    expect((await moderator.reveal(false)).status).toBe(200);
    const withdrawn = nextEvent<PokerStoryView>(moderator, "story_changed");
    expect((await voter.withdrawVote()).status).toBe(200);
    expect((await withdrawn).voted).toEqual([]);
    const timer = nextEvent<PokerTimer>(voter, "timer_changed");
    expect((await moderator.startTimer(60)).status).toBe(200);
    expect((await timer).seconds).toBe(60);
    expect((await voter.startTimer(60)).status).toBe(403);
    const stopped = nextEvent<PokerTimer>(voter, "timer_changed");
    expect((await moderator.stopTimer()).status).toBe(200);
    expect(await stopped).toEqual({ ends_at: null, seconds: null });
    expect((await voter.vote("2")).status).toBe(200);
    expect((await moderator.reveal()).status).toBe(200);

    const ended = nextEvent<{ poker_session_end_redirect_url: string }>(
      voter,
      "poker_session_ended",
    );
    await api.endSession(ADMIN, session.id);
    expect((await ended).poker_session_end_redirect_url).toBe("/poker/");
    moderator.close();
    voter.close();

    const again = await api.getSession(ADMIN, session.id);
    expect(again).toMatchObject({ ended: true, stories: [{ id: story.id, story_points: 2 }] });

    expect(await api.previewInvite(session.id, invite.invite)).toEqual({
      session_id: session.id,
      name: "SDK",
      ended: true,
      role: "voter",
    });
    const summary = await api.summary(joined.token, session.id);
    expect(summary.stories[0]).toMatchObject({
      story_points: 2,
      votes: { "2": [{ id: joined.user.id, name: "Ada" }] },
      stats: { count: 1, mean: 2, median: 2, consensus: true },
    });
    const csv = await api.summaryCsv(joined.token, session.id);
    expect(csv.split("\r\n")[0]).toBe("story_label,story_points,votes,mean,median,consensus");
    expect(csv.split("\r\n")[1]).toBe("One,2,1,2,2,true");
  });

  it("throws PokerApiError with the contract's code and status", async () => {
    const err = await api.getSession(ADMIN, crypto.randomUUID()).catch((e) => e);
    expect(err).toBeInstanceOf(PokerApiError);
    expect(err).toMatchObject({ status: 404, code: "not_found" });
  });
});
