/**
 * Planning-poker helpers for browsers and Node on top of `RoomClient`:
 * typed REST calls and the session's socket with typed commands.
 */
import type { Participant, PokerTimer, StoryView, Voter } from "../protocol/poker-events";
import type {
  PokerInvite,
  PokerInviteInput,
  PokerInvitePreview,
  PokerJoined,
  PokerJoinInput,
  PokerSession,
  PokerSessionInput,
  PokerSessionWithStories,
  PokerStory,
  PokerStoryInput,
  PokerSummary,
} from "../protocol/poker-rest";
import { ApiError } from "./api-error";
import { type KindProtocol, RoomClient, type RoomClientOptions } from "./room-client";

export { isPointChoice } from "../protocol/poker-deck";
/** The REST and event shapes are the protocol module's, inferred from the server's schemas. */
export type {
  PokerInvite,
  PokerInviteInput,
  PokerInvitePreview,
  PokerJoined,
  PokerJoinInput,
  PokerSession,
  PokerSessionInput,
  PokerSessionWithStories,
  PokerStory,
  PokerStoryInput,
  PokerSummary,
  PokerTimer,
};
export type PokerVoter = Voter;
export type PokerParticipant = Participant;
export type PokerStoryView = StoryView;

/** Kept by this name for the poker helpers' callers: the SDK's one `ApiError`. */
export const PokerApiError = ApiError;
export type PokerApiError = ApiError;

/** REST calls of the poker API against `baseUrl` (e.g. `https://host`). */
export class PokerApi {
  constructor(
    private readonly baseUrl: string,
    private readonly fetchFn: typeof fetch = (...args) => fetch(...args),
  ) {}

  createSession(token: string, input: PokerSessionInput): Promise<PokerSession> {
    return this.call("POST", "/api/poker/sessions", token, input);
  }

  getSession(token: string, id: string): Promise<PokerSessionWithStories> {
    return this.call("GET", `/api/poker/sessions/${encodeURIComponent(id)}`, token);
  }

  addStory(token: string, id: string, input: PokerStoryInput): Promise<PokerStory> {
    return this.call("POST", `/api/poker/sessions/${encodeURIComponent(id)}/stories`, token, input);
  }

  endSession(token: string, id: string): Promise<PokerSession> {
    return this.call("POST", `/api/poker/sessions/${encodeURIComponent(id)}/end`, token);
  }

  createInvite(token: string, id: string, input: PokerInviteInput = {}): Promise<PokerInvite> {
    return this.call("POST", `/api/poker/sessions/${encodeURIComponent(id)}/invites`, token, input);
  }

  join(id: string, input: PokerJoinInput): Promise<PokerJoined> {
    return this.call("POST", `/api/poker/sessions/${encodeURIComponent(id)}/join`, null, input);
  }

  /** The session an invite is for (name, ended), before anyone has a token. */
  previewInvite(id: string, invite: string): Promise<PokerInvitePreview> {
    const path = `/api/poker/sessions/${encodeURIComponent(id)}/invite-preview`;
    return this.call("POST", path, null, { invite });
  }

  /** Stories, points, votes as revealed and their statistics. */
  summary(token: string, id: string): Promise<PokerSummary> {
    return this.call("GET", `/api/poker/sessions/${encodeURIComponent(id)}/summary`, token);
  }

  /** The summary as CSV text (`story_label,story_points,votes,mean,median,consensus`). */
  async summaryCsv(token: string, id: string): Promise<string> {
    const path = `/api/poker/sessions/${encodeURIComponent(id)}/summary`;
    const res = await this.send("GET", path, token, undefined, "text/csv");
    if (!res.ok) throw await ApiError.from(res);
    return res.text();
  }

  private async call<T>(
    method: string,
    path: string,
    token: string | null,
    body?: unknown,
  ): Promise<T> {
    const res = await this.send(method, path, token, body, "application/json");
    if (!res.ok) throw await ApiError.from(res);
    return (await res.json()) as T;
  }

  private send(
    method: string,
    path: string,
    token: string | null,
    body: unknown,
    accept: string,
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: accept };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return this.fetchFn(new URL(path, this.baseUrl).toString(), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }
}

/** The session's socket: `RoomClient` typed by the poker protocol, plus its commands by name. */
export class PokerRoomClient extends RoomClient<KindProtocol<"poker">> {
  constructor(baseUrl: string, sessionId: string, options: Omit<RoomClientOptions, "url">) {
    super({
      ...options,
      url: new URL(`/ws/poker/${encodeURIComponent(sessionId)}`, baseUrl).toString(),
    });
  }

  vote(choice: string) {
    return this.request("vote_submitted", { choice });
  }

  nextStory(storyId?: string) {
    return this.request("next_story_requested", storyId ? { story_id: storyId } : {});
  }

  submitPoints(storyPoints: string, advance = false) {
    return this.request("points_submitted", { story_points: storyPoints, advance });
  }

  reset() {
    return this.request("reset_requested", {});
  }

  reveal(revealed = true) {
    return this.request("reveal_requested", { revealed });
  }

  /** Takes this user's vote on the active story back. */
  withdrawVote() {
    return this.request("vote_withdrawn", {});
  }

  /** Starts the round timer everyone sees (moderators; 10–3600 s). */
  startTimer(seconds: number) {
    return this.request("timer_started", { seconds });
  }

  stopTimer() {
    return this.request("timer_stopped", {});
  }
}

/** The name the package documents for the poker room's socket (the same class). */
export { PokerRoomClient as PokerClient };
