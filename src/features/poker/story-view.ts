import { PERMISSIONS } from "../../platform/auth/permissions";
import type { StoryView, Voter } from "../../protocol/poker-events";

export type { StoryView, Voter } from "../../protocol/poker-events";

export interface VoteRecord {
  userId: string;
  userName: string;
  choice: string;
}

export interface StoryRecord {
  id: string;
  storyLabel: string;
  description: string;
  storyPoints: number | null;
  revealed: boolean;
}

const byName = (a: Voter, b: Voter) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id);

/** Choices with their voters, most votes first (ties in deck order). */
export function votesByChoice(votes: VoteRecord[], deck: readonly string[]): [string, Voter[]][] {
  const groups = new Map<string, Voter[]>();
  for (const v of votes) {
    const list = groups.get(v.choice) ?? [];
    list.push({ id: v.userId, name: v.userName });
    groups.set(v.choice, list);
  }
  return [...groups.entries()]
    .map(([choice, voters]): [string, Voter[]] => [choice, voters.sort(byName)])
    .sort((a, b) => b[1].length - a[1].length || deck.indexOf(a[0]) - deck.indexOf(b[0]));
}

/** The full view of a story, as moderators (and everyone once revealed) see it. */
export function storyView(
  story: StoryRecord,
  votes: VoteRecord[],
  deck: readonly string[],
): StoryView {
  return {
    id: story.id,
    story_label: story.storyLabel,
    description: story.description,
    votes: Object.fromEntries(votesByChoice(votes, deck)),
    revealed: story.revealed,
    voted: votes.map((v) => ({ id: v.userId, name: v.userName })).sort(byName),
    story_points: story.storyPoints,
  };
}

/**
 * Who sees every vote before the reveal: moderators only. Voters see their own vote and
 * spectators (no poker permission in the session) none; both see who has voted. `permissions`
 * are the viewer's permissions in this session; the admin token sees everything.
 */
export function seesVotesBeforeReveal(permissions: readonly string[]): boolean {
  return permissions.includes(PERMISSIONS.pokerModerate);
}

/**
 * A view before the reveal: only the viewer's own vote (none for a spectator), while `voted`
 * still shows who has voted.
 */
export function hiddenView(view: StoryView, viewerId: string): StoryView {
  const own = ownVotes(view.votes).get(viewerId);
  return { ...view, votes: own ? { [own.choice]: [own.voter] } : {} };
}

/**
 * Each voter's vote, indexed once per view: a broadcast renders one hidden view per socket, and
 * scanning every choice's voters for each of N sockets would make it quadratic in the room size.
 */
type OwnVotes = Map<string, { choice: string; voter: Voter }>;
const ownVoteIndex = new WeakMap<StoryView["votes"], OwnVotes>();

function ownVotes(votes: StoryView["votes"]): OwnVotes {
  let index = ownVoteIndex.get(votes);
  if (!index) {
    index = new Map();
    for (const [choice, voters] of Object.entries(votes)) {
      for (const voter of voters) index.set(voter.id, { choice, voter });
    }
    ownVoteIndex.set(votes, index);
  }
  return index;
}

/** Every present hidden voter has voted (and there is at least one): the votes reveal themselves. */
export function everyoneVoted(presentVoterIds: string[], votes: VoteRecord[]): boolean {
  if (!presentVoterIds.length) return false;
  const voted = new Set(votes.map((v) => v.userId));
  return presentVoterIds.every((id) => voted.has(id));
}

/**
 * `voted` as JSON, once per view: a hidden voter's view shares the full view's `voted` array, so
 * a broadcast to N voters serialises the list once instead of N times.
 */
const votedJson = new WeakMap<Voter[], string>();

function stringifyVoted(voted: Voter[]): string {
  let text = votedJson.get(voted);
  if (text === undefined) {
    text = JSON.stringify(voted);
    votedJson.set(voted, text);
  }
  return text;
}

/**
 * Serialises a `story_changed` frame with `votes` in count order. JSON objects keep insertion
 * order except for integer-like keys ("1", "5"), which JavaScript always lists ascending, so the
 * order is written by hand; clients that keep key order (the original's) see most votes first.
 */
export function stringifyStoryFrame(frame: {
  event: string;
  data: StoryView;
  seq?: number;
}): string {
  const { data } = frame;
  const votes = Object.entries(data.votes)
    .sort((a, b) => b[1].length - a[1].length)
    .map(([choice, voters]) => `${JSON.stringify(choice)}:${JSON.stringify(voters)}`)
    .join(",");
  const fields = [
    `"id":${JSON.stringify(data.id)}`,
    `"story_label":${JSON.stringify(data.story_label)}`,
    `"description":${JSON.stringify(data.description)}`,
    `"votes":{${votes}}`,
    `"revealed":${JSON.stringify(data.revealed)}`,
    `"voted":${stringifyVoted(data.voted)}`,
    `"story_points":${JSON.stringify(data.story_points)}`,
  ];
  const seq = frame.seq === undefined ? "" : `,"seq":${frame.seq}`;
  return `{"event":${JSON.stringify(frame.event)},"data":{${fields.join(",")}}${seq}}`;
}
