import { z } from "zod";
import type { PokerSession, PokerStory } from "./poker-rest";

/**
 * The planning-poker room's events (`/ws/poker/:id`): the client events' data as the zod
 * schemas the room validates with, and the server events' data.
 */

const storyIdSchema = z.union([z.string().min(1).max(100), z.number().int()]).transform(String);
const noData = z.object({}).strict();

export const pokerClientEvents = {
  /** With a `story_id` that story becomes active; without, the next one without points. */
  next_story_requested: z.object({ story_id: storyIdSchema.nullish() }).strict(),
  /** Sets the active story's points (a numeric option of the deck); `advance` moves on too. */
  points_submitted: z
    .object({
      story_points: z.union([z.string().max(50), z.number()]).transform(String),
      advance: z.boolean().default(false),
    })
    .strict(),
  /** One of the session's choices; a second vote replaces the first. */
  vote_submitted: z.object({ choice: z.string().min(1).max(200) }).strict(),
  /** Takes the sender's vote on the active story back (nothing happens when it had none). */
  vote_withdrawn: noData,
  reset_requested: noData,
  /** Reveals the votes now (`revealed: false` hides them again). */
  reveal_requested: z.object({ revealed: z.boolean().default(true) }).strict(),
  /** Starts (or restarts) the round timer everyone sees; moderators only. */
  timer_started: z.object({ seconds: z.number().int().min(10).max(3600) }).strict(),
  /** Stops the round timer; moderators only. */
  timer_stopped: noData,
  /** Keeps the participant listed (the original client sends it every 20 s). */
  heartbeat: noData,
};

export interface Voter {
  id: string;
  name: string;
}

/** `story_changed`: `votes` holds only the viewer's own vote while hidden from it. */
export interface StoryView {
  id: string;
  story_label: string;
  description: string;
  votes: Record<string, Voter[]>;
  revealed: boolean;
  voted: Voter[];
  /** An addition to the original's data, for the story badge. */
  story_points: number | null;
}

export interface Participant {
  id: string;
  name: string;
  /** The original's key; always equal to `name`. */
  username: string;
  permissions: string[];
}

/** The round timer: when it runs out (null when stopped) and how long it was set for. */
export interface PokerTimer {
  ends_at: string | null;
  seconds: number | null;
}

/** `resync`: the session, the socket's own view of the active story, and who is present. */
export interface PokerSnapshot {
  session: PokerSession | null;
  story?: StoryView | null;
  participants: Participant[];
  timer: PokerTimer;
}

export interface PokerServerEvents {
  story_changed: StoryView;
  story_points_submitted: { story_points: number; story_id: string };
  participants_changed: { participants: Participant[] };
  poker_session_ended: { poker_session_end_redirect_url: string };
  /** A story added over REST, for moderators' story lists. */
  story_added: PokerStory;
  /** The round timer started or stopped; also sent to a joining socket while it runs. */
  timer_changed: PokerTimer;
}
