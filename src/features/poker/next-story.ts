export interface StoryPosition {
  id: string;
  position: number;
  storyPoints: number | null;
}

/**
 * The story `next_story_requested` without an id moves to: the first story without points after
 * the active one, else (wrapping round) the first earlier one without points. The active story
 * itself is never the answer: "next" moves on. Null means none is left and the session ends.
 */
export function nextStory<T extends StoryPosition>(
  stories: T[],
  activeId: string | null,
): T | null {
  const open = stories
    .filter((s) => s.storyPoints === null && s.id !== activeId)
    .sort((a, b) => a.position - b.position);
  const active = stories.find((s) => s.id === activeId);
  if (!active) return open[0] ?? null;
  return open.find((s) => s.position > active.position) ?? open[0] ?? null;
}
