/**
 * Planning-poker helpers for browsers and Node on top of `RoomClient` (CONTRACT.md §3):
 * typed REST calls and the session's socket with typed commands.
 */
import { RoomClient, type RoomClientOptions } from "./room-client";

export interface PokerStory {
  id: string;
  story_label: string;
  description: string;
  story_points: number | null;
  position: number;
}

export interface PokerSession {
  id: string;
  name: string;
  choices: string[];
  end_redirect_url: string;
  active_story_id: string | null;
  ended: boolean;
  ended_at: string | null;
  created_at: string;
  stories?: PokerStory[];
}

export interface PokerVoter {
  id: string;
  name: string;
}

/** `story_changed`: `votes` holds only the viewer's own vote while hidden from it. */
export interface PokerStoryView {
  id: string;
  story_label: string;
  description: string;
  votes: Record<string, PokerVoter[]>;
  revealed: boolean;
  voted: PokerVoter[];
  story_points: number | null;
}

export interface PokerParticipant {
  id: string;
  name: string;
  username: string;
  permissions: string[];
}

export interface PokerInvite {
  invite: string;
  role: "voter" | "moderator";
  url: string;
  expires_at: string;
}

export interface PokerJoined {
  token: string;
  expires_at: string;
  user: { id: string; name: string };
  permissions: string[];
  session_id: string;
}

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

  createSession(
    token: string,
    input: { name: string; choices?: string[]; end_redirect_url?: string },
  ): Promise<PokerSession> {
    return this.call("POST", "/api/poker/sessions", token, input);
  }

  getSession(token: string, id: string): Promise<PokerSession & { stories: PokerStory[] }> {
    return this.call("GET", `/api/poker/sessions/${encodeURIComponent(id)}`, token);
  }

  addStory(
    token: string,
    id: string,
    input: { story_label: string; description?: string },
  ): Promise<PokerStory> {
    return this.call("POST", `/api/poker/sessions/${encodeURIComponent(id)}/stories`, token, input);
  }

  endSession(token: string, id: string): Promise<PokerSession> {
    return this.call("POST", `/api/poker/sessions/${encodeURIComponent(id)}/end`, token);
  }

  createInvite(
    token: string,
    id: string,
    input: { role?: "voter" | "moderator"; ttl_seconds?: number } = {},
  ): Promise<PokerInvite> {
    return this.call("POST", `/api/poker/sessions/${encodeURIComponent(id)}/invites`, token, input);
  }

  join(id: string, input: { invite: string; name: string }): Promise<PokerJoined> {
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

/** The session's socket: `RoomClient` plus the poker commands by name. */
export class PokerRoomClient extends RoomClient {
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

/** Numeric deck options: the only ones a moderator may submit as story points. */
export function isPointChoice(choice: string): boolean {
  return /^\d{1,6}(\.\d{1,3})?$/.test(choice);
}
