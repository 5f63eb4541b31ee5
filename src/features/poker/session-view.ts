import type { PokerSession, PokerStory } from "../../protocol/poker-rest";

/** The REST shapes are the protocol's `PokerSession` / `PokerStory`; these build them from rows. */
export type SessionJson = PokerSession;
export type StoryJson = PokerStory;

export function sessionJson(row: {
  id: string;
  name: string;
  choices: string[];
  endRedirectUrl: string;
  activeStoryId: string | null;
  endedAt: string | null;
  createdAt: string;
}): SessionJson {
  return {
    id: row.id,
    name: row.name,
    choices: row.choices,
    end_redirect_url: row.endRedirectUrl,
    active_story_id: row.activeStoryId,
    ended: row.endedAt !== null,
    ended_at: row.endedAt,
    created_at: row.createdAt,
  };
}

export function storyJson(row: {
  id: string;
  storyLabel: string;
  description: string;
  storyPoints: number | null;
  position: number;
}): StoryJson {
  return {
    id: row.id,
    story_label: row.storyLabel,
    description: row.description,
    story_points: row.storyPoints,
    position: row.position,
  };
}
