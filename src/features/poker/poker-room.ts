import { grants, PERMISSIONS } from "../../platform/auth/permissions";
import { getDb } from "../../platform/db";
import { ApiError, badRequest, conflict, notFound } from "../../platform/errors";
import * as time from "../../platform/time";
import { CLOSE_CODES, pokerClientEvents, type Reply, type ServerEvent } from "../../protocol";
import { BaseRoom } from "../../realtime/base-room";
import type { Member } from "../../realtime/member";
import { graceMsOf } from "../../realtime/presence";
import type { RoomKind } from "../../realtime/room-kind";
import { failed, succeeded } from "../../realtime/room-queue";
import { asResult, type RpcResult } from "../../realtime/rpc-result";
import { Throttle } from "../../realtime/throttle";
import { dispatchEvents, outboxStatements, prepareEvent } from "../webhooks";
import { storyPointsFor } from "./deck";
import { nextStory } from "./next-story";
import {
  attendeeId,
  type GraceAttendee,
  isHiddenVoter,
  type Participant,
  participantsOf,
  sessionPermissions,
} from "./participants";
import * as q from "./queries";
import { type RoundTimer, runningTimer, startTimer, timerJson } from "./round-timer";
import { type SessionJson, type StoryJson, sessionJson, storyJson } from "./session-view";
import {
  everyoneVoted,
  hiddenView,
  type StoryView,
  seesVotesBeforeReveal,
  storyView,
  stringifyStoryFrame,
  type VoteRecord,
} from "./story-view";

/**
 * Vote progress (`publishProgress`) reaches the room's sockets about PROGRESS_DELIVERIES_PER_S
 * times a second in all: one frame per interval of sockets / PROGRESS_DELIVERIES_PER_S seconds,
 * within PROGRESS_MS. A frame lists every voter, so a bigger room gets fewer, larger frames and
 * its cost per second grows with its size instead of with its square.
 */
const PROGRESS_DELIVERIES_PER_S = 100;
const PROGRESS_MS = { min: 250, max: 2_000 };
/** `room_meta` key: a progress frame is waiting for its window (see `publishProgress`). */
const PROGRESS_PENDING = "progress_pending";

const sessionGone = () => new ApiError("gone", "The poker session has ended");

/**
 * One planning-poker session (contract §3). D1 holds the session, its stories and votes; every
 * change is written there before it is published, so a rebuilt object shows the same state.
 * The room is the only writer of its session, so it keeps the session, the active story and its
 * votes in memory (`round`, loaded from D1 once per object) and a vote costs one D1 write.
 * Votes are hidden here, per socket (`renderFor`), not in the browser.
 */
export class PokerRoom extends BaseRoom {
  /** The session as D1 holds it, kept in step with every write; null until loaded. */
  private round: q.PokerRound | null = null;
  /** Bumped by every write: a load that raced a write is not kept. */
  private writes = 0;
  /** Paces the `story_changed` frames of vote progress (`publishProgress`). */
  private readonly progress = new Throttle();
  /** Participants are the room's presence: several sockets count once, a reload is no leave. */
  protected override readonly tracksPresence = true;

  protected readonly commands = {
    next_story_requested: this.command({
      permission: PERMISSIONS.pokerModerate,
      schema: pokerClientEvents.next_story_requested,
      handle: async ({ data }) => {
        await this.moveTo(await this.openRound(), data.story_id ?? null);
      },
    }),
    points_submitted: this.command({
      permission: PERMISSIONS.pokerModerate,
      schema: pokerClientEvents.points_submitted,
      handle: async ({ data }) => {
        const round = await this.openRound();
        const { session } = round;
        const story = activeStory(round);
        const points = storyPointsFor(session.choices, data.story_points);
        if (points === null) {
          throw badRequest("Invalid story points", {
            story_points: ["must be a numeric option of the session's choices"],
          });
        }
        const event = await prepareEvent(this.env, "poker.story_points_submitted", {
          session_id: session.id,
          story_id: story.id,
          story_label: story.storyLabel,
          story_points: points,
        });
        await this.write(() =>
          q.setStoryPoints(this.db, story.id, points, outboxStatements(this.db, [event])),
        );
        story.storyPoints = points;
        this.publish("story_points_submitted", { story_points: points, story_id: story.id });
        await dispatchEvents(this.env, [event.uuid]);
        if (data.advance) await this.moveTo(round, null);
      },
    }),
    vote_submitted: this.batchCommand({
      permission: PERMISSIONS.pokerVote,
      schema: pokerClientEvents.vote_submitted,
      // Votes that queue up behind a D1 write are stored in one batch and published as one
      // `story_changed`: the room keeps up with a full room voting at once.
      handleBatch: async (frames) => {
        const round = await this.openRound();
        const story = activeStory(round);
        const cast = new Map<string, VoteRecord>();
        const outcomes = frames.map(({ data, member }) => {
          if (!round.session.choices.includes(data.choice)) {
            return failed(
              badRequest("Invalid choice", { choice: ["must be one of the session's choices"] }),
            );
          }
          const userId = attendeeId(member.userId);
          cast.delete(userId);
          cast.set(userId, { userId, userName: member.name, choice: data.choice });
          return succeeded(undefined);
        });
        if (!cast.size) return outcomes;
        const votes = [...round.votes.filter((v) => !cast.has(v.userId)), ...cast.values()];
        const reveal = !story.revealed && this.everyoneVoted(votes);
        await this.write(() => q.upsertVotes(this.db, story.id, [...cast.values()], reveal));
        round.votes = votes;
        if (reveal) story.revealed = true;
        if (reveal) this.publishStory(round);
        else this.publishProgress();
        return outcomes;
      },
    }),
    vote_withdrawn: this.command({
      permission: PERMISSIONS.pokerVote,
      schema: pokerClientEvents.vote_withdrawn,
      handle: async ({ member }) => {
        const round = await this.openRound();
        const story = activeStory(round);
        const userId = attendeeId(member.userId);
        if (!round.votes.some((v) => v.userId === userId)) return;
        await this.write(() => q.deleteVote(this.db, story.id, userId));
        round.votes = round.votes.filter((v) => v.userId !== userId);
        this.publishProgress();
      },
    }),
    reset_requested: this.command({
      permission: PERMISSIONS.pokerModerate,
      schema: pokerClientEvents.reset_requested,
      handle: async () => {
        const round = await this.openRound();
        const story = activeStory(round);
        await this.write(() => q.resetVotes(this.db, story.id));
        round.votes = [];
        story.revealed = false;
        this.publishStory(round);
      },
    }),
    reveal_requested: this.command({
      permission: PERMISSIONS.pokerModerate,
      schema: pokerClientEvents.reveal_requested,
      handle: async ({ data }) => {
        const round = await this.openRound();
        const story = activeStory(round);
        await this.write(() => q.setRevealed(this.db, story.id, data.revealed));
        story.revealed = data.revealed;
        this.publishStory(round);
      },
    }),
    timer_started: this.command({
      permission: PERMISSIONS.pokerModerate,
      schema: pokerClientEvents.timer_started,
      handle: async ({ data }) => {
        await this.openRound();
        this.setTimer(startTimer(data.seconds, time.now()));
      },
    }),
    timer_stopped: this.command({
      permission: PERMISSIONS.pokerModerate,
      schema: pokerClientEvents.timer_stopped,
      handle: async () => {
        await this.openRound();
        this.setTimer(null);
      },
    }),
    // Any frame refreshes the socket's last-seen time; this one exists for the original clients.
    heartbeat: this.command({
      schema: pokerClientEvents.heartbeat,
      concurrent: true,
      handle: () => undefined,
    }),
  };

  // ---- RPC entry points for the REST routes ----------------------------------------------

  /** Creates the session this room is named after (the Worker picks a fresh id). */
  async create(sessionId: string, input: q.SessionInput): Promise<RpcResult<SessionJson>> {
    return this.rpc(sessionId, async () =>
      sessionJson(await this.write(() => q.createSession(this.db, sessionId, input))),
    );
  }

  /** Ends the session: 404 for an unknown one, 409 when it had already ended. */
  async end(sessionId: string): Promise<RpcResult<SessionJson>> {
    return this.rpc(sessionId, async () => {
      const round = await this.current();
      if (!round) throw notFound("Poker session");
      if (round.session.endedAt) throw conflict("The session has already ended");
      return sessionJson(await this.endNow(round.session));
    });
  }

  /**
   * Appends a story (404 for an unknown session, 410 for an ended one) and tells connected
   * clients (moderators' story lists) with `story_added`.
   */
  async addStory(sessionId: string, input: q.StoryInput): Promise<RpcResult<StoryJson>> {
    return this.rpc(sessionId, async () => {
      const { session } = await this.openRound();
      const story = storyJson(await q.addStory(this.db, session.id, input));
      this.publish("story_added", story);
      return story;
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

  /** A big session spreads its sockets over shards of this class (contract §10). */
  protected override shardNamespace() {
    return this.env.POKER_ROOM;
  }

  protected override renderFor(event: ServerEvent, member: Member): ServerEvent | null {
    if (event.event !== "story_changed") return event;
    const view = event.data as StoryView;
    if (view.revealed || !this.votesHiddenFrom(member)) return event;
    return { ...event, data: hiddenView(view, attendeeId(member.userId)) };
  }

  protected override serialize(frame: ServerEvent | Reply): string {
    if ("event" in frame && frame.event === "story_changed") {
      return stringifyStoryFrame(frame as ServerEvent<StoryView>);
    }
    return super.serialize(frame);
  }

  /**
   * A joining socket gets its own view of the story and the running timer. The participant list
   * reaches everyone in the coalesced presence frame; the joiner gets it now only when its join
   * changed nothing (another tab of a listed user), as no frame follows then.
   */
  protected override async onJoin(joining: WebSocket, member: Member): Promise<void> {
    await this.exclusiveBatch("join", { ws: joining, member }, async (joins) => {
      const round = await this.current();
      const view = round ? viewOf(round) : null;
      const timer = this.runningTimer();
      for (const { ws, member } of joins) {
        const own = view && this.renderFor({ event: "story_changed", data: view }, member);
        if (own) this.send(ws, own);
        if (timer) this.send(ws, { event: "timer_changed", data: timerJson(timer) });
      }
      const list = this.listed();
      if (JSON.stringify(list) === this.meta("participants")) {
        const listed = { event: "participants_changed", data: { participants: list } };
        for (const { ws } of joins) this.send(ws, listed);
      }
      return joins.map(() => succeeded(undefined));
    });
  }

  /**
   * Joins, leaves and graces that ended since the last frame: one participant update. Only a
   * participant gone past the grace (or dropped by the server) can trigger the auto-reveal.
   */
  protected override async onPresenceChanged(): Promise<void> {
    await this.exclusive(async () => {
      if (this.meta("ended")) return;
      if (await this.updateParticipants()) await this.revealIfEveryoneVoted();
    });
  }

  protected override presenceGraceMs(): number {
    return graceMsOf(this.env.POKER_LEAVE_GRACE_SECONDS);
  }

  protected override presenceInfo(member: Member): GraceAttendee {
    return {
      id: attendeeId(member.userId),
      name: member.name,
      admin: member.admin,
      permissions: sessionPermissions(member.permissions, this.roomId),
      connectedAt: member.connectedAt,
    };
  }

  /** The participant list shows permissions: a refreshed token may carry other ones. */
  protected override async onCredentialRefreshed(): Promise<void> {
    await this.exclusive(() => this.updateParticipants());
  }

  protected override async snapshot(member: Member) {
    const round = await this.current();
    const view = round ? viewOf(round) : null;
    return {
      session: round ? sessionJson(round.session) : null,
      story: view ? this.renderFor({ event: "story_changed", data: view }, member)?.data : null,
      participants: this.listed(),
      timer: timerJson(this.runningTimer()),
    };
  }

  // ---- internals ------------------------------------------------------------------------

  /** An RPC entry point: after earlier work of the room, its errors answered as themselves. */
  private rpc<T>(sessionId: string, run: () => Promise<T>): Promise<RpcResult<T>> {
    this.bind(sessionId);
    return asResult(
      () => this.exclusive(run),
      (err) => this.reportError(err, "rpc"),
    );
  }

  private get db() {
    return getDb(this.env.DB);
  }

  /** The session, its active story and votes: from memory, loaded from D1 when not yet known. */
  private async current(): Promise<q.PokerRound | null> {
    if (this.round) return this.round;
    const writes = this.writes;
    const loaded = await q.getRound(this.db, this.roomId);
    if (this.round) return this.round;
    if (writes === this.writes) this.round = loaded;
    if (loaded && this.meta(PROGRESS_PENDING)) this.publishStory(loaded);
    return loaded;
  }

  /**
   * Runs a D1 write; the caller then applies the same change to `round`. When the write fails
   * it may still have landed, so the round is forgotten and loaded again from D1.
   */
  private async write<T>(change: () => Promise<T>): Promise<T> {
    this.writes++;
    try {
      return await change();
    } catch (err) {
      this.round = null;
      throw err;
    }
  }

  private async openRound(): Promise<q.PokerRound> {
    const round = await this.current();
    if (!round) throw notFound("Poker session");
    if (round.session.endedAt) throw sessionGone();
    return round;
  }

  private publishStory(round: q.PokerRound): void {
    this.progress.cancel();
    const view = viewOf(round);
    if (view) this.publish("story_changed", view);
    if (this.meta(PROGRESS_PENDING)) this.setMeta(PROGRESS_PENDING, "");
  }

  /**
   * Votes cast or withdrawn without a reveal: `story_changed` at most once per interval (see
   * PROGRESS_DELIVERIES_PER_S), showing the round as it is then. Every such frame lists every
   * voter to every socket, so a room voting at once would otherwise send its sockets a quadratic
   * number of bytes; the reveal, a new story and the moderator's changes are never delayed.
   * Nothing is lost to an eviction (see PROGRESS_PENDING).
   */
  private publishProgress(): void {
    // Every socket of this object, closing ones too: an estimate, without a check per socket.
    const interval = () =>
      Math.min(
        PROGRESS_MS.max,
        Math.max(
          PROGRESS_MS.min,
          (this.ctx.getWebSockets().length * 1000) / PROGRESS_DELIVERIES_PER_S,
        ),
      );
    const sent = this.progress.run(interval, () => {
      if (this.round) this.publishStory(this.round);
    });
    // Stored in the turn that acknowledges the votes: a room evicted before the frame went out
    // publishes it when it loads the round again (`current`), so the stream still ends with
    // every acknowledged vote.
    if (!sent && !this.meta(PROGRESS_PENDING)) this.setMeta(PROGRESS_PENDING, "1");
  }

  /** Moves to `storyId`, or by the next-story rules; ends the session when none is left. */
  private async moveTo(round: q.PokerRound, storyId: string | null): Promise<void> {
    const { session } = round;
    let target: q.PokerStoryRow | null;
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
    const story = target;
    const votes = await this.write(async () => {
      await q.setActiveStory(this.db, session.id, story.id);
      return q.listVotes(this.db, story.id);
    });
    session.activeStoryId = story.id;
    round.story = story;
    round.votes = votes;
    this.publishStory(round);
    // The timer timed the previous round.
    if (this.runningTimer()) this.setTimer(null);
    else this.storeTimer(null);
  }

  /** Stores the round timer (null: stopped) and tells everyone with `timer_changed`. */
  private setTimer(timer: RoundTimer | null): void {
    this.storeTimer(timer);
    this.publish("timer_changed", timerJson(timer));
  }

  private storeTimer(timer: RoundTimer | null): void {
    this.setMeta("timer", JSON.stringify(timer));
  }

  /** The stored round timer while it runs; one that ran out is left to the clients to show. */
  private runningTimer(): RoundTimer | null {
    const stored = this.meta("timer");
    return runningTimer(stored ? (JSON.parse(stored) as RoundTimer | null) : null, time.now());
  }

  /** Reveals the active story when every present hidden voter has voted (after a leave). */
  private async revealIfEveryoneVoted(): Promise<void> {
    const round = await this.current();
    const story = round?.story;
    if (!round || !story || story.revealed || !this.everyoneVoted(round.votes)) return;
    await this.write(() => q.setRevealed(this.db, story.id, true));
    story.revealed = true;
    this.publishStory(round);
  }

  /** Every present hidden voter has a vote in `votes`: the votes reveal themselves. */
  private everyoneVoted(votes: VoteRecord[]): boolean {
    const voters = this.attendees()
      .filter((a) => !a.admin && isHiddenVoter(a.permissions))
      .map((a) => a.id);
    return everyoneVoted(voters, votes);
  }

  /**
   * Ends the session: the end, the cleared participant list and `poker.session_ended` are one D1
   * transaction, so an eviction after it loses nothing (the cron scan sends the event).
   */
  private async endNow(session: q.PokerSessionRow): Promise<q.PokerSessionRow> {
    const endedAt = time.nowIso();
    const event = await prepareEvent(this.env, "poker.session_ended", {
      session_id: session.id,
      name: session.name,
      ended_at: endedAt,
    });
    const ended = await this.write(() =>
      q.endSession(this.db, session.id, endedAt, (ifEnded) =>
        outboxStatements(this.db, [{ ...event, uuid: ifEnded(event.uuid) }]),
      ),
    );
    this.round = null;
    if (!ended) throw sessionGone();
    this.setMeta("ended", "1");
    this.publish("poker_session_ended", {
      poker_session_end_redirect_url: ended.endRedirectUrl,
    });
    // After the current frame's reply has gone out: the moderator's request gets its answer.
    setTimeout(() => this.closeAllSockets(CLOSE_CODES.roomEnded.code, "poker session ended"), 0);
    await dispatchEvents(this.env, [event.uuid]);
    return ended;
  }

  private votesHiddenFrom(member: Member): boolean {
    return (
      !member.admin && !seesVotesBeforeReveal(sessionPermissions(member.permissions, this.roomId))
    );
  }

  /** Invite tokens hold their permissions for one session: `planning_poker.vote:<id>`. */
  protected override can(member: Member, permission: string): boolean {
    return member.admin || grants(member.permissions, permission, this.roomId);
  }

  /** Everyone present: users with open sockets, and users within their leave grace. */
  private attendees(): GraceAttendee[] {
    return this.presence.store.users().map((u) => u.info as GraceAttendee);
  }

  private listed(): Participant[] {
    return participantsOf(this.attendees());
  }

  /** Records and broadcasts the participants when the list changed; true when it did. */
  private async updateParticipants(): Promise<boolean> {
    const attendees = this.attendees();
    const list = participantsOf(attendees);
    const text = JSON.stringify(list);
    const recorded = this.meta("participants");
    if (text === recorded) return false;
    const before = new Map(
      (recorded ? (JSON.parse(recorded) as Participant[]) : []).map((p) => [
        p.id,
        JSON.stringify(p),
      ]),
    );
    const changed = list.filter((p) => before.get(p.id) !== JSON.stringify(p));
    const joined = (id: string) =>
      new Date(Math.min(...attendees.filter((a) => a.id === id).map((a) => a.connectedAt)));
    await q.syncParticipants(this.db, this.roomId, list, changed, joined);
    this.setMeta("participants", text);
    this.broadcast("participants_changed", { participants: list });
    return true;
  }
}

function activeStory(round: q.PokerRound): q.PokerStoryRow {
  if (!round.story) throw conflict("There is no active story");
  return round.story;
}

function viewOf({ session, story, votes }: q.PokerRound): StoryView | null {
  return story ? storyView(q.storyRecord(story), votes, session.choices) : null;
}

/** The session's room, typed for its RPC methods. */
export function pokerRoom(env: Env, sessionId: string): DurableObjectStub<PokerRoom> {
  return env.POKER_ROOM.get(env.POKER_ROOM.idFromName(sessionId));
}

export const pokerKind: RoomKind = {
  stub: pokerRoom,
  tracksPresence: true,
  admit: async (env, id) => {
    const session = await q.getSession(getDb(env.DB), id);
    if (!session) throw notFound("Poker session");
    if (session.endedAt) throw sessionGone();
  },
};
