import { z } from "zod";
import { PERMISSIONS } from "../auth/permissions";
import { getDb } from "../db/client";
import * as q from "../db/queries/poker";
import { storyPointsFor } from "../domain/poker/deck";
import { nextStory } from "../domain/poker/next-story";
import {
  type Attendee,
  attendeeId,
  isHiddenVoter,
  type Participant,
  participantsOf,
} from "../domain/poker/participants";
import { type StoryJson, sessionJson } from "../domain/poker/session-view";
import {
  everyoneVoted,
  hiddenView,
  type StoryView,
  storyView,
  stringifyStoryFrame,
} from "../domain/poker/story-view";
import { ApiError, badRequest, conflict, notFound } from "../errors";
import { emit } from "../webhooks/emit";
import { BaseRoom } from "./base-room";
import type { Member } from "./member";
import type { Reply, ServerEvent } from "./protocol";
import type { RoomKind } from "./room-kind";

/** Close code for sockets of a session that ended; the client SDK does not reconnect on it. */
export const CLOSE_SESSION_ENDED = 4410;

const storyIdSchema = z.union([z.string().min(1).max(100), z.number().int()]).transform(String);
const noData = z.object({}).strict();

const sessionGone = () => new ApiError("gone", "The poker session has ended");

/**
 * One planning-poker session (CONTRACT.md §3). D1 holds the session, its stories and votes; every
 * change is written there before it is published, so a rebuilt object shows the same state.
 * Votes are hidden here, per socket (`renderFor`), not in the browser.
 */
export class PokerRoom extends BaseRoom {
  protected readonly commands = {
    next_story_requested: this.command({
      permission: PERMISSIONS.pokerModerate,
      schema: z.object({ story_id: storyIdSchema.nullish() }).strict(),
      handle: async ({ data }) => {
        await this.moveTo(await this.openSession(), data.story_id ?? null);
      },
    }),
    points_submitted: this.command({
      permission: PERMISSIONS.pokerModerate,
      schema: z
        .object({
          story_points: z.union([z.string().max(50), z.number()]).transform(String),
          advance: z.boolean().default(false),
        })
        .strict(),
      handle: async ({ data }) => {
        const session = await this.openSession();
        const story = await this.activeStory(session);
        const points = storyPointsFor(session.choices, data.story_points);
        if (points === null) {
          throw badRequest("Invalid story points", {
            story_points: ["must be a numeric option of the session's choices"],
          });
        }
        await q.setStoryPoints(this.db, story.id, points);
        this.publish("story_points_submitted", { story_points: points, story_id: story.id });
        await this.emitEvent("poker.story_points_submitted", {
          session_id: session.id,
          story_id: story.id,
          story_label: story.storyLabel,
          story_points: points,
        });
        if (data.advance) await this.moveTo(session, null);
      },
    }),
    vote_submitted: this.command({
      permission: PERMISSIONS.pokerVote,
      schema: z.object({ choice: z.string().min(1).max(200) }).strict(),
      handle: async ({ data, member }) => {
        const session = await this.openSession();
        const story = await this.activeStory(session);
        if (!session.choices.includes(data.choice)) {
          throw badRequest("Invalid choice", { choice: ["must be one of the session's choices"] });
        }
        await q.upsertVote(this.db, story.id, {
          userId: attendeeId(member.userId),
          userName: member.name,
          choice: data.choice,
        });
        await this.revealIfEveryoneVoted(story);
        await this.publishStory(session, story.id);
      },
    }),
    reset_requested: this.command({
      permission: PERMISSIONS.pokerModerate,
      schema: noData,
      handle: async () => {
        const session = await this.openSession();
        const story = await this.activeStory(session);
        await q.resetVotes(this.db, story.id);
        await this.publishStory(session, story.id);
      },
    }),
    reveal_requested: this.command({
      permission: PERMISSIONS.pokerModerate,
      schema: z.object({ revealed: z.boolean().default(true) }).strict(),
      handle: async ({ data }) => {
        const session = await this.openSession();
        const story = await this.activeStory(session);
        await q.setRevealed(this.db, story.id, data.revealed);
        await this.publishStory(session, story.id);
      },
    }),
    // Any frame refreshes the socket's last-seen time; this one exists for the original clients.
    heartbeat: this.command({ schema: noData, handle: () => undefined }),
  };

  // ---- RPC entry points for the REST routes ----------------------------------------------

  /** Ends the session; false when it had already ended. */
  async end(sessionId: string): Promise<boolean> {
    this.bind(sessionId);
    return this.exclusive(async () => {
      const session = await q.getSession(this.db, sessionId);
      if (!session || session.endedAt) return false;
      await this.endNow(session);
      return true;
    });
  }

  /** Tells connected clients (moderators' story lists) about a story added over REST. */
  async storyAdded(sessionId: string, story: StoryJson): Promise<void> {
    this.bind(sessionId);
    await this.exclusive(() => {
      this.publish("story_added", story);
    });
  }

  // ---- hooks ------------------------------------------------------------------------------

  override async fetch(request: Request): Promise<Response> {
    const upgrade = request.headers.get("Upgrade")?.toLowerCase() === "websocket";
    if (upgrade && this.meta("ended")) {
      const gone = sessionGone();
      return Response.json(gone.toBody(), { status: gone.status });
    }
    return super.fetch(request);
  }

  protected override renderFor(event: ServerEvent, member: Member): ServerEvent | null {
    if (event.event !== "story_changed") return event;
    const view = event.data as StoryView;
    if (view.revealed || !this.votesHiddenFrom(member)) return event;
    return { ...event, data: hiddenView(view, attendeeId(member.userId)) };
  }

  protected override send(ws: WebSocket, frame: ServerEvent | Reply): void {
    if (!("event" in frame) || frame.event !== "story_changed") {
      super.send(ws, frame);
      return;
    }
    try {
      ws.send(stringifyStoryFrame(frame as ServerEvent<StoryView>));
    } catch {
      // The socket closed meanwhile; its close handler cleans up.
    }
  }

  protected override onJoin(ws: WebSocket, member: Member): Promise<void> {
    return this.exclusive(async () => {
      const session = await q.getSession(this.db, this.roomId);
      const view = session ? await this.currentView(session) : null;
      if (view) {
        const own = this.renderFor({ event: "story_changed", data: view }, member);
        if (own) this.send(ws, own);
      }
      if (!(await this.updateParticipants())) {
        this.send(ws, { event: "participants_changed", data: { participants: this.listed() } });
      }
    });
  }

  protected override onLeave(): Promise<void> {
    return this.exclusive(async () => {
      if (this.meta("ended")) return;
      if (!(await this.updateParticipants())) return;
      const session = await q.getSession(this.db, this.roomId);
      if (!session?.activeStoryId) return;
      const story = await q.getStory(this.db, session.id, session.activeStoryId);
      if (story && (await this.revealIfEveryoneVoted(story))) {
        await this.publishStory(session, story.id);
      }
    });
  }

  protected override async snapshot(member: Member) {
    const session = await q.getSession(this.db, this.roomId);
    const view = session ? await this.currentView(session) : null;
    return {
      session: session ? sessionJson(session) : null,
      story: view ? this.renderFor({ event: "story_changed", data: view }, member)?.data : null,
      participants: this.listed(),
    };
  }

  // ---- internals ------------------------------------------------------------------------

  private get db() {
    return getDb(this.env.DB);
  }

  private async openSession(): Promise<q.PokerSessionRow> {
    const session = await q.getSession(this.db, this.roomId);
    if (!session) throw notFound("Poker session");
    if (session.endedAt) throw sessionGone();
    return session;
  }

  private async activeStory(session: q.PokerSessionRow): Promise<q.PokerStoryRow> {
    const story = session.activeStoryId
      ? await q.getStory(this.db, session.id, session.activeStoryId)
      : null;
    if (!story) throw conflict("There is no active story");
    return story;
  }

  private async currentView(session: q.PokerSessionRow): Promise<StoryView | null> {
    if (!session.activeStoryId) return null;
    const story = await q.getStory(this.db, session.id, session.activeStoryId);
    if (!story) return null;
    return storyView(q.storyRecord(story), await q.listVotes(this.db, story.id), session.choices);
  }

  private async publishStory(session: q.PokerSessionRow, storyId: string): Promise<void> {
    const view = await this.currentView({ ...session, activeStoryId: storyId });
    if (view) this.publish("story_changed", view);
  }

  /** Moves to `storyId`, or by the next-story rules; ends the session when none is left. */
  private async moveTo(session: q.PokerSessionRow, storyId: string | null): Promise<void> {
    let target: { id: string } | null;
    if (storyId !== null) {
      target = await q.getStory(this.db, session.id, storyId);
      if (!target) throw notFound("Story");
    } else {
      target = nextStory(await q.listStories(this.db, session.id), session.activeStoryId);
    }
    if (!target) {
      await this.endNow(session);
      return;
    }
    await q.setActiveStory(this.db, session.id, target.id);
    await this.publishStory(session, target.id);
  }

  /** Reveals the votes once every present voter has voted; true when it just did. */
  private async revealIfEveryoneVoted(story: q.PokerStoryRow): Promise<boolean> {
    if (story.revealed) return false;
    const voters = this.attendees()
      .filter((a) => !a.admin && isHiddenVoter(a.permissions))
      .map((a) => a.id);
    if (!everyoneVoted(voters, await q.listVotes(this.db, story.id))) return false;
    await q.setRevealed(this.db, story.id, true);
    return true;
  }

  private async endNow(session: q.PokerSessionRow): Promise<void> {
    const ended = await q.endSession(this.db, session.id);
    if (!ended) throw sessionGone();
    this.setMeta("ended", "1");
    await q.replaceParticipants(this.db, session.id, [], () => new Date());
    await this.emitEvent("poker.session_ended", {
      session_id: ended.id,
      name: ended.name,
      ended_at: ended.endedAt,
    });
    this.publish("poker_session_ended", {
      poker_session_end_redirect_url: ended.endRedirectUrl,
    });
    // After the current frame's reply has gone out: the moderator's request gets its answer.
    setTimeout(() => {
      for (const ws of this.sockets()) {
        try {
          ws.close(CLOSE_SESSION_ENDED, "poker session ended");
        } catch {
          // already closing
        }
      }
    }, 0);
  }

  private votesHiddenFrom(member: Member): boolean {
    return !member.admin && isHiddenVoter(member.permissions);
  }

  private attendees(): (Attendee & { connectedAt: number })[] {
    return this.sockets().map((ws) => {
      const m = this.memberOf(ws);
      return {
        id: attendeeId(m.userId),
        name: m.name,
        admin: m.admin,
        permissions: m.permissions,
        connectedAt: m.connectedAt,
      };
    });
  }

  private listed(): Participant[] {
    return participantsOf(this.attendees());
  }

  /** Records and broadcasts the participants when the list changed; true when it did. */
  private async updateParticipants(): Promise<boolean> {
    const attendees = this.attendees();
    const list = participantsOf(attendees);
    const text = JSON.stringify(list);
    if (text === this.meta("participants")) return false;
    const joined = (id: string) =>
      new Date(Math.min(...attendees.filter((a) => a.id === id).map((a) => a.connectedAt)));
    await q.replaceParticipants(this.db, this.roomId, list, joined);
    this.setMeta("participants", text);
    this.broadcast("participants_changed", { participants: list });
    return true;
  }

  /** Domain events must not undo a change already stored and published; failures are logged. */
  private async emitEvent(type: string, data: unknown): Promise<void> {
    try {
      await emit(this.env, type, data);
    } catch (err) {
      console.error(`PokerRoom:${this.roomId} could not emit ${type}`, err);
    }
  }
}

/** The session's room, typed for its RPC methods. */
export function pokerRoom(env: Env, sessionId: string): DurableObjectStub<PokerRoom> {
  return env.POKER_ROOM.get(env.POKER_ROOM.idFromName(sessionId));
}

export const pokerKind: RoomKind = {
  stub: pokerRoom,
  admit: async (env, id) => {
    const session = await q.getSession(getDb(env.DB), id);
    if (!session) throw notFound("Poker session");
    if (session.endedAt) throw sessionGone();
  },
};
