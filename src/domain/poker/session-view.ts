/** The REST shapes of CONTRACT.md §3; `ended_at`, `created_at` and `position` are additions. */
export interface SessionJson {
  id: string;
  name: string;
  choices: string[];
  end_redirect_url: string;
  active_story_id: string | null;
  ended: boolean;
  ended_at: string | null;
  created_at: string;
}

export interface StoryJson {
  id: string;
  story_label: string;
  description: string;
  story_points: number | null;
  position: number;
}

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
