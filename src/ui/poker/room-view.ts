/** Rendering of the session screen: pure functions of the page state, no network. */
import {
  isPointChoice,
  type PokerParticipant,
  type PokerSession,
  type PokerStory,
  type PokerStoryView,
} from "../../client/poker";
import type { InviteLinks, Person } from "./credentials";
import { initials, voteStats } from "./stats";
import { $, el } from "./view";

export interface PageState {
  session: PokerSession;
  stories: PokerStory[];
  story: PokerStoryView | null;
  participants: PokerParticipant[];
  me: Person;
  moderator: boolean;
  /** The credential may vote (a moderator's too, behind the "I also estimate" switch). */
  canVote: boolean;
  estimating: boolean;
  /** A vote (or, with `choice` null, a withdrawal) sent and not yet acknowledged. */
  pending: { choice: string | null } | null;
  voteError: string | null;
  online: boolean;
  links?: InviteLinks;
}

export interface Actions {
  vote(choice: string): void;
  withdraw(): void;
  submitPoints(choice: string): void;
  selectStory(id: string): void;
}

const has = (p: { permissions: string[] }, name: string) =>
  p.permissions.some((perm) => perm === name || perm.startsWith(`${name}:`));

export const isVoter = (p: PokerParticipant) => has(p, "planning_poker.vote");
const isModerator = (p: PokerParticipant) => has(p, "planning_poker.moderate");

/**
 * Who the round waits for: voters who do not moderate (the server reveals once all of them
 * have voted). A moderator who estimates joins the table with the first vote.
 */
const isEstimator = (p: PokerParticipant) => isVoter(p) && !isModerator(p);

/** Whether the viewer's deck shows: voters always, moderators when they switched it on. */
export const votesNow = (state: PageState) =>
  state.canVote && (!state.moderator || state.estimating);

/** The choice the server has for the viewer on the current story, if any. */
export function storedChoice(state: PageState): string | null {
  const votes = state.story?.votes ?? {};
  return Object.keys(votes).find((c) => votes[c]?.some((v) => v.id === state.me.id)) ?? null;
}

/** What the viewer's hand shows: the pending choice wins over the stored one. */
function shownChoice(state: PageState): string | null {
  return state.pending ? state.pending.choice : storedChoice(state);
}

/** "Next story" ends the session when no story but the active one is left without points. */
export function nextEnds(state: PageState): boolean {
  return !state.stories.some((s) => s.story_points === null && s.id !== state.story?.id);
}

export function render(state: PageState, actions: Actions): void {
  $("title").textContent = state.session.name;
  renderStory(state);
  renderWelcome(state);
  renderTable(state);
  renderVoting(state, actions);
  renderResults(state, actions);
  renderParticipants(state);
  renderModeration(state, actions);
}

function phase(state: PageState): string {
  const { story } = state;
  if (!story) {
    if (!state.moderator) return "Waiting for the moderator to pick a story";
    return state.stories.length
      ? "Press “Start voting” to show the first story"
      : "Add a story to begin";
  }
  if (story.story_points !== null) return `Estimated: ${story.story_points} points`;
  return story.revealed ? "Votes revealed" : "Voting in progress";
}

function renderStory(state: PageState): void {
  const { story } = state;
  const header = $("phase");
  header.textContent = phase(state);
  header.dataset.phase = !story ? "waiting" : story.revealed ? "revealed" : "voting";
  $("story-body").hidden = !story;
  if (!story) return;
  $("story-label").textContent = story.story_label;
  // Sanitised by the server when the story was stored (scripts, handlers, javascript: URLs).
  $("story-description").innerHTML = story.description;
  const points = $("story-points");
  points.hidden = story.story_points === null;
  points.textContent = story.story_points === null ? "" : `${story.story_points} pts`;
}

function renderWelcome(state: PageState): void {
  const empty = state.moderator && state.stories.length === 0;
  $("getting-started").hidden = !empty;
  // The welcome says what to do; an empty story panel above it would only repeat it.
  $("story").hidden = empty;
  $("moderation").hidden = !state.moderator || empty;
}

/** Everyone at the table who may vote, or has: a card each, face down until the reveal. */
function renderTable(state: PageState): void {
  const { story } = state;
  $("table").hidden = !story;
  if (!story) return;
  const voted = new Set(story.voted.map((v) => v.id));
  const seats = state.participants.filter((p) => isEstimator(p) || voted.has(p.id));
  for (const v of story.voted) {
    if (!seats.some((p) => p.id === v.id)) seats.push({ ...v, username: v.name, permissions: [] });
  }
  const choiceOf = (id: string) =>
    Object.keys(story.votes).find((c) => story.votes[c]?.some((v) => v.id === id)) ?? null;
  $("voted-count").textContent = `${story.voted.length} of ${seats.length} voted`;
  $("cards").replaceChildren(
    ...seats.map((p) => {
      const choice = story.revealed ? choiceOf(p.id) : null;
      const status = choice ?? (voted.has(p.id) ? "voted" : "not voted yet");
      const card = el("div", {
        className: `seat-card ${voted.has(p.id) ? "voted" : "waiting"}${choice ? " flipped" : ""}`,
      });
      card.setAttribute("aria-hidden", "true");
      card.append(
        el("div", { className: "card-inner" }, [
          el("div", { className: "card-back" }),
          el("div", { className: "card-front" }, [choice ?? ""]),
        ]),
      );
      return el("li", { className: "seat" }, [
        card,
        el("span", { className: "seat-name" }, [p.id === state.me.id ? `${p.name} (you)` : p.name]),
        el("span", { className: "visually-hidden" }, [`: ${status}`]),
      ]);
    }),
  );
}

function voteStatus(state: PageState, mine: string | null): string {
  if (state.voteError) return state.voteError;
  if (state.pending) {
    if (!state.online)
      return "You are offline: your vote will be sent when the connection is back.";
    return state.pending.choice === null ? "Taking your vote back…" : "Sending your vote…";
  }
  if (mine) return `Your vote: ${mine}. Pick another card to change it.`;
  return "Pick a card.";
}

function renderVoting(state: PageState, actions: Actions): void {
  const { story } = state;
  const showPanel = !!story && state.canVote;
  $("voting").hidden = !showPanel;
  $("estimate-switch").hidden = !state.moderator;
  $<HTMLInputElement>("estimate").checked = state.estimating;
  const deckOn = showPanel && votesNow(state);
  $("deck").hidden = !deckOn;
  $("vote-status").hidden = !deckOn;
  const mine = shownChoice(state);
  $("withdraw").hidden = !deckOn || !mine || !!state.pending;
  if (!deckOn) return;
  $("vote-status").textContent = voteStatus(state, mine);
  $("deck").replaceChildren(
    ...state.session.choices.map((choice) => {
      const pressed = choice === mine;
      const pending = pressed && !!state.pending;
      const button = el(
        "button",
        {
          type: "button",
          className: `card${pending ? " pending" : ""}`,
          onclick: () => (pressed && !state.pending ? actions.withdraw() : actions.vote(choice)),
        },
        [choice],
      );
      button.setAttribute("aria-pressed", String(pressed));
      return button;
    }),
  );
}

function renderResults(state: PageState, actions: Actions): void {
  const { story } = state;
  $("results-panel").hidden = !story;
  if (!story) return;
  const entries = Object.entries(story.votes)
    .filter(([, voters]) => voters.length > 0)
    .sort((a, b) => b[1].length - a[1].length);
  const votes = entries.reduce((n, [, voters]) => n + voters.length, 0);
  const voters = new Set([
    ...state.participants.filter(isEstimator).map((p) => p.id),
    ...story.voted.map((v) => v.id),
  ]).size;
  // Bars are shares of the people who could vote, so "2 of 5" never looks like everyone.
  const scale = Math.max(1, voters, votes);
  $("hidden-hint").hidden = story.revealed || state.moderator;
  const stats = voteStats(story.votes);
  renderStats(story.revealed && votes > 0 ? stats : null);
  // Moderators see every vote live, so a result is a shortcut to points at any time.
  const pickable = state.moderator;
  $("results").replaceChildren(
    ...entries.map(([choice, list]) => {
      const label =
        pickable && isPointChoice(choice)
          ? el(
              "button",
              {
                className: "choice",
                type: "button",
                title: `Give this story ${choice} points`,
                onclick: () => actions.submitPoints(choice),
              },
              [choice],
            )
          : el("span", { className: "choice" }, [choice]);
      const fill = el("div", { className: "bar-fill" }, [String(list.length)]);
      fill.style.width = `${(list.length / scale) * 100}%`;
      return el("li", { className: stats.consensus && story.revealed ? "consensus" : "" }, [
        label,
        el("div", { className: "bar-track" }, [fill]),
        el("div", { className: "voters" }, [list.map((v) => v.name).join(", ")]),
      ]);
    }),
  );
}

function renderStats(stats: ReturnType<typeof voteStats> | null): void {
  const box = $("stats");
  box.hidden = !stats;
  if (!stats) return;
  const item = (term: string, value: string, className = "") =>
    el("div", { className }, [el("dt", {}, [term]), el("dd", {}, [value])]);
  // The spread as the range of numeric votes: "3–8", or "none" when everyone agreed.
  const spread =
    stats.min === null ? "–" : stats.min === stats.max ? "none" : `${stats.min}–${stats.max}`;
  box.replaceChildren(
    item("Mean", stats.mean === null ? "–" : String(stats.mean)),
    item("Median", stats.median === null ? "–" : String(stats.median)),
    item("Spread", spread),
    item("Agreement", stats.consensus ? "Consensus!" : "Mixed", stats.consensus ? "consensus" : ""),
  );
}

/** A colour per person, stable across pages: a small hash of the id picks one of eight. */
function avatarClass(id: string): string {
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `avatar c${h % 8}`;
}

function renderParticipants(state: PageState): void {
  const voted = new Set(state.story?.voted.map((v) => v.id));
  $("people-count").textContent = `(${state.participants.length})`;
  $("participants").replaceChildren(
    ...state.participants.map((p) => {
      const role = isModerator(p) ? "moderator" : isVoter(p) ? "" : "watching";
      const avatar = el("span", { className: avatarClass(p.id) }, [initials(p.name)]);
      avatar.setAttribute("aria-hidden", "true");
      return el("li", {}, [
        avatar,
        el("span", { className: "person" }, [p.name + (p.id === state.me.id ? " (you)" : "")]),
        ...(role ? [el("span", { className: "role" }, [role])] : []),
        ...(voted.has(p.id) ? [el("span", { className: "voted" }, ["✓ voted"])] : []),
      ]);
    }),
  );
}

function renderModeration(state: PageState, actions: Actions): void {
  $("stories-panel").hidden = !state.moderator;
  $("invites").hidden = !state.moderator || !state.links;
  if (!state.moderator) return;
  const story = state.story;
  $("story-tools").hidden = !story;
  $("reveal").hidden = $("reset").hidden = !story;
  $("reveal").textContent = story?.revealed ? "Hide votes" : "Reveal votes";
  const next = $<HTMLButtonElement>("next-story");
  next.disabled = !state.stories.length;
  next.textContent = !story ? "Start voting" : nextEnds(state) ? "Finish session" : "Next story";
  $("points").replaceChildren(
    ...state.session.choices.filter(isPointChoice).map((choice) => {
      const button = el(
        "button",
        {
          type: "button",
          className: "card",
          disabled: !story,
          onclick: () => actions.submitPoints(choice),
        },
        [choice],
      );
      button.setAttribute("aria-pressed", String(story?.story_points === Number(choice)));
      return button;
    }),
  );
  $("stories").replaceChildren(
    ...state.stories.map((s) => {
      const button = el("button", { type: "button", onclick: () => actions.selectStory(s.id) }, [
        s.story_label,
      ]);
      if (s.id === story?.id) button.setAttribute("aria-current", "true");
      return el("li", { className: s.id === story?.id ? "active" : "" }, [
        button,
        ...(s.story_points === null
          ? []
          : [el("span", { className: "badge points" }, [`${s.story_points} pts`])]),
      ]);
    }),
  );
}
