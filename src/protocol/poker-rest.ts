import { z } from "zod";

/**
 * The planning-poker REST shapes: the routes validate and document with these schemas, the SDK
 * and the poker page use the types inferred from them. `ended_at`, `created_at` and `position`
 * are additions to the original's fields. `meta({ id })` names them in the OpenAPI document.
 */

/** Invites expire after this unless the moderator asks for another lifetime. */
export const DEFAULT_INVITE_TTL_SECONDS = 7 * 24 * 60 * 60;

export const InviteRole = z.enum(["voter", "moderator"]);
export type InviteRole = z.infer<typeof InviteRole>;

const Choice = z.string().trim().min(1).max(50);
/** A path on this site ("/poker/") or an absolute http(s) URL; never `javascript:`. */
const RedirectUrl = z
  .string()
  .max(2000)
  .refine((u) => /^\/(?!\/)/.test(u) || /^https?:\/\//i.test(u), {
    message: "must be a path starting with '/' or an http(s) URL",
  });

export const PokerSessionInput = z
  .object({
    name: z.string().trim().min(1).max(200).meta({ example: "Sprint 12" }),
    choices: z
      .array(Choice)
      .min(1)
      .max(50)
      .refine((c) => new Set(c).size === c.length, { message: "choices must be unique" })
      .optional()
      .meta({ example: ["1", "2", "3", "5", "8", "13", "?"] }),
    end_redirect_url: RedirectUrl.optional().meta({ example: "/poker/" }),
  })
  .strict()
  .meta({ id: "PokerSessionInput" });

export const PokerStory = z
  .object({
    id: z.string(),
    story_label: z.string(),
    description: z.string().meta({ description: "Sanitised HTML" }),
    story_points: z.number().nullable(),
    position: z.number().int(),
  })
  .meta({ id: "PokerStory" });

export const PokerSession = z
  .object({
    id: z.string(),
    name: z.string(),
    choices: z.array(z.string()),
    end_redirect_url: z.string(),
    active_story_id: z.string().nullable(),
    ended: z.boolean(),
    ended_at: z.string().nullable().meta({ format: "date-time" }),
    created_at: z.string().meta({ format: "date-time" }),
  })
  .meta({ id: "PokerSession" });

export const PokerSessionWithStories = PokerSession.extend({
  stories: z.array(PokerStory),
}).meta({ id: "PokerSessionWithStories" });

export const PokerStoryInput = z
  .object({
    story_label: z.string().trim().min(1).max(200).meta({ example: "PROJ-42: Login page" }),
    description: z
      .string()
      .max(20_000)
      .default("")
      .meta({ example: "<p>As a user I want to <strong>log in</strong>.</p>" }),
  })
  .strict()
  .meta({ id: "PokerStoryInput" });

export const PokerInviteInput = z
  .object({
    role: InviteRole.default("voter"),
    ttl_seconds: z
      .number()
      .int()
      .min(60)
      .max(30 * 24 * 60 * 60)
      .default(DEFAULT_INVITE_TTL_SECONDS),
  })
  .strict()
  .meta({ id: "PokerInviteInput" });

export const PokerInvite = z
  .object({
    invite: z.string().meta({ description: "Signed; pass it to the join route" }),
    role: InviteRole,
    url: z.string().meta({ description: "The browser UI's link carrying the invite" }),
    expires_at: z.string().meta({ format: "date-time" }),
  })
  .meta({ id: "PokerInvite" });

export const PokerJoinInput = z
  .object({
    invite: z.string().min(1).max(2000),
    name: z.string().trim().min(1).max(100).meta({ example: "Ada" }),
  })
  .strict()
  .meta({ id: "PokerJoinInput" });

export const PokerJoined = z
  .object({
    token: z.string(),
    expires_at: z.string().meta({ format: "date-time" }),
    user: z.object({ id: z.string(), name: z.string() }),
    permissions: z.array(z.string()),
    session_id: z.string(),
  })
  .meta({ id: "PokerJoined" });

export const PokerInvitePreviewInput = z
  .object({ invite: z.string().min(1).max(2000) })
  .strict()
  .meta({ id: "PokerInvitePreviewInput" });

/** What the join page shows before anyone has a token: whose session, and whether it ended. */
export const PokerInvitePreview = z
  .object({
    session_id: z.string(),
    name: z.string(),
    ended: z.boolean(),
    role: InviteRole,
  })
  .meta({ id: "PokerInvitePreview" });

const Voter = z.object({ id: z.string(), name: z.string() });

/** Numeric votes only; `mean`, `median`, `min`, `max` are null when no vote was numeric. */
export const PokerStoryStats = z
  .object({
    count: z.number().int().meta({ description: "Every vote, numeric or not" }),
    mean: z.number().nullable(),
    median: z.number().nullable(),
    min: z.number().nullable(),
    max: z.number().nullable(),
    consensus: z.boolean().meta({ description: "Every vote, at least one, is the same choice" }),
  })
  .meta({ id: "PokerStoryStats" });

export const PokerSummaryStory = z
  .object({
    id: z.string(),
    story_label: z.string(),
    story_points: z.number().nullable(),
    votes: z.record(z.string(), z.array(Voter)),
    stats: PokerStoryStats,
  })
  .meta({ id: "PokerSummaryStory" });

export const PokerSummary = z
  .object({
    id: z.string(),
    name: z.string(),
    ended: z.boolean(),
    end_redirect_url: z.string(),
    stories: z.array(PokerSummaryStory),
  })
  .meta({ id: "PokerSummary" });

export type PokerSessionInput = z.input<typeof PokerSessionInput>;
export type PokerStory = z.infer<typeof PokerStory>;
export type PokerSession = z.infer<typeof PokerSession>;
export type PokerSessionWithStories = z.infer<typeof PokerSessionWithStories>;
export type PokerStoryInput = z.input<typeof PokerStoryInput>;
export type PokerInviteInput = z.input<typeof PokerInviteInput>;
export type PokerInvite = z.infer<typeof PokerInvite>;
export type PokerJoinInput = z.input<typeof PokerJoinInput>;
export type PokerJoined = z.infer<typeof PokerJoined>;
export type PokerInvitePreview = z.infer<typeof PokerInvitePreview>;
export type PokerStoryStats = z.infer<typeof PokerStoryStats>;
export type PokerSummary = z.infer<typeof PokerSummary>;
