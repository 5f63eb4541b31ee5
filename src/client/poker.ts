/**
 * Planning-poker helpers for browsers and Node on top of `RoomClient`:
 * typed REST calls and the session's socket with typed commands.
 */
import type { Participant, StoryView, Voter } from "../protocol/poker-events";
import type {
  PokerInvite,
  PokerInviteInput,
  PokerJoined,
  PokerJoinInput,
  PokerSession,
  PokerSessionInput,
  PokerSessionWithStories,
  PokerStory,
  PokerStoryInput,
} from "../protocol/poker-rest";
import { type KindProtocol, RoomClient, type RoomClientOptions } from "./room-client";

export { isPointChoice } from "../protocol/poker-deck";
/** The REST and event shapes are the protocol module's, inferred from the server's schemas. */
export type {
  PokerInvite,
  PokerInviteInput,
  PokerJoined,
  PokerJoinInput,
  PokerSession,
  PokerSessionInput,
  PokerSessionWithStories,
  PokerStory,
  PokerStoryInput,
};
export type PokerVoter = Voter;
export type PokerParticipant = Participant;
export type PokerStoryView = StoryView;

export class PokerApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "PokerApiError";
  }
}

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

  private async call<T>(
    method: string,
    path: string,
    token: string | null,
    body?: unknown,
  ): Promise<T> {
    const headers: Record<string, string> = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await this.fetchFn(new URL(path, this.baseUrl).toString(), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json().catch(() => null)) as
      | (T & { error?: { code: string; message: string } })
      | null;
    if (!res.ok) {
      throw new PokerApiError(
        res.status,
        json?.error?.code ?? "internal",
        json?.error?.message ?? `HTTP ${res.status}`,
      );
    }
    return json as T;
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
}
