import { z } from "zod";
import { PokerSession, PokerStory } from "./poker-rest";

/**
 * The poker room's server events as zod schemas, twins of the types in `poker-events.ts`, for
 * the AsyncAPI document's JSON Schemas; `server-events.ts` checks at compile time that each
 * schema's output is exactly the declared type, so neither can change alone.
 */

export const PokerVoterSchema = z
  .object({ id: z.string(), name: z.string() })
  .meta({ id: "PokerVoter" });

export const StoryViewSchema = z
  .object({
    id: z.string(),
    story_label: z.string(),
    description: z.string().meta({ description: "Sanitised HTML" }),
    votes: z.record(z.string(), z.array(PokerVoterSchema)).meta({
      description:
        "Voters by choice, choices ordered by count (descending). While the votes are hidden from the receiving socket it holds only that socket's own vote (none for a spectator).",
    }),
    revealed: z.boolean(),
    voted: z.array(PokerVoterSchema).meta({ description: "Who has voted, always visible" }),
    story_points: z.number().nullable().meta({ description: "An addition, for the story badge" }),
  })
  .meta({ id: "PokerStoryView" });

export const ParticipantSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    username: z.string().meta({ description: "The original's key; always equal to `name`" }),
    permissions: z.array(z.string()),
  })
  .meta({ id: "PokerParticipant" });

export const PokerTimerSchema = z
  .object({
    ends_at: z
      .string()
      .nullable()
      .meta({ format: "date-time", description: "When the round timer runs out; null: stopped" }),
    seconds: z.number().nullable().meta({ description: "How long it was set for" }),
  })
  .meta({ id: "PokerTimer" });

export const PokerSnapshotSchema = z
  .object({
    session: PokerSession.nullable(),
    story: StoryViewSchema.nullish().meta({
      description: "The socket's own view of the active story (absent or null: none)",
    }),
    participants: z.array(ParticipantSchema),
    timer: PokerTimerSchema,
  })
  .meta({ id: "PokerSnapshot" });

export const pokerServerEventSchemas = {
  story_changed: StoryViewSchema,
  story_points_submitted: z.object({ story_points: z.number(), story_id: z.string() }),
  participants_changed: z.object({
    participants: z.array(ParticipantSchema).meta({ description: "Sorted by name" }),
  }),
  poker_session_ended: z.object({ poker_session_end_redirect_url: z.string() }),
  story_added: PokerStory,
  timer_changed: PokerTimerSchema,
};
