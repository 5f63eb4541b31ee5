/** DOM rendering of the poker page: pure functions of the page state, no network. */
import {
  isPointChoice,
  type PokerParticipant,
  type PokerSession,
  type PokerStory,
  type PokerStoryView,
} from "../../client/poker";

export interface PageState {
  session: PokerSession;
  stories: PokerStory[];
  story: PokerStoryView | null;
  participants: PokerParticipant[];
  me: { id: string; name: string };
  moderator: boolean;
  voter: boolean;
}

export interface Actions {
  vote(choice: string): void;
  submitPoints(choice: string): void;
  selectStory(id: string): void;
}

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
};

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  children: (Node | string)[] = [],
): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

export function showOnly(id: "create" | "join" | "session" | null): void {
  for (const section of ["create", "join", "session"]) $(section).hidden = section !== id;
}

/**
 * Handles a form's submit: reads its data, then runs `send` with the form's controls disabled,
 * so a slow answer cannot reset what was typed after it, and a double click sends once.
 */
export function onSubmit(form: HTMLFormElement, send: (data: FormData) => Promise<void>): void {
  form.onsubmit = async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const controls = Array.from(form.elements) as (HTMLInputElement | HTMLButtonElement)[];
    for (const control of controls) control.disabled = true;
    try {
      await send(data);
    } finally {
      for (const control of controls) control.disabled = false;
    }
  };
}

export function notify(message: string | null): void {
  const notice = $("notice");
  notice.textContent = message ?? "";
  notice.hidden = !message;
}

export function renderConnection(state: string): void {
  const badge = $("connection");
  badge.hidden = state === "open";
  badge.textContent = state === "reconnecting" ? "Reconnecting…" : state;
  badge.dataset.state = state;
}

/** The choice the viewer voted for on the current story, if any. */
export function myChoice(state: PageState): string | null {
  const votes = state.story?.votes ?? {};
  return Object.keys(votes).find((c) => votes[c]?.some((v) => v.id === state.me.id)) ?? null;
}

export function render(state: PageState, actions: Actions): void {
  $("title").textContent = state.session.name;
  renderStory(state);
  renderVoting(state, actions);
  renderResults(state, actions);
  renderParticipants(state);
  renderModeration(state, actions);
}

function renderStory(state: PageState): void {
  const { story } = state;
  $("no-story").hidden = !!story;
  $("story-body").hidden = !story;
  if (!story) return;
  $("story-label").textContent = story.story_label;
  // Sanitised by the server when the story was stored (scripts, handlers, javascript: URLs).
  $("story-description").innerHTML = story.description;
  const points = $("story-points");
  points.hidden = story.story_points === null;
  points.textContent = story.story_points === null ? "" : `${story.story_points} pts`;
}

/** The original's rule: the chosen card leaves the deck until a reset or a new story. */
function renderVoting(state: PageState, actions: Actions): void {
  $("voting").hidden = !state.voter || !state.story;
  const chosen = myChoice(state);
  const card = (choice: string, className = "") =>
    el("button", { className, type: "button", onclick: () => actions.vote(choice) }, [choice]);
  const hand = $("my-choice");
  hand.replaceChildren(...(chosen ? [card(chosen, "chosen")] : []));
  $("deck").replaceChildren(
    ...state.session.choices.filter((c) => c !== chosen).map((c) => card(c)),
  );
}

function renderResults(state: PageState, actions: Actions): void {
  const story = state.story;
  const entries = Object.entries(story?.votes ?? {}).sort((a, b) => b[1].length - a[1].length);
  const total = Math.max(1, ...entries.map(([, voters]) => voters.length));
  const votersTotal = state.participants.filter((p) =>
    p.permissions.includes("planning_poker.vote"),
  ).length;
  $("voted-count").textContent = story ? `${story.voted.length} of ${votersTotal} voted` : "";
  $("hidden-hint").hidden = !story || story.revealed || !state.voter || state.moderator;
  const pickable = state.moderator && !!story && (story.revealed || !state.voter);
  $("results").replaceChildren(
    ...entries.map(([choice, voters]) => {
      const label =
        pickable && isPointChoice(choice)
          ? el(
              "button",
              {
                className: "choice",
                type: "button",
                title: `Submit ${choice} points`,
                onclick: () => actions.submitPoints(choice),
              },
              [choice],
            )
          : el("span", { className: "choice" }, [choice]);
      const fill = el("div", { className: "bar-fill" }, [String(voters.length)]);
      fill.style.width = `${(voters.length / total) * 100}%`;
      return el("li", {}, [
        label,
        el("div", { className: "bar-track" }, [fill]),
        el("div", { className: "voters" }, [voters.map((v) => v.name).join(", ")]),
      ]);
    }),
  );
}

function renderParticipants(state: PageState): void {
  const voted = new Set(state.story?.voted.map((v) => v.id));
  $("participants").replaceChildren(
    ...state.participants.map((p) => {
      const role = p.permissions.includes("planning_poker.moderate")
        ? "moderator"
        : p.permissions.includes("planning_poker.vote")
          ? "voter"
          : "spectator";
      return el("li", {}, [
        el("span", {}, [p.name + (p.id === state.me.id ? " (you)" : "")]),
        el("span", { className: "role" }, [role]),
        ...(voted.has(p.id) ? [el("span", { className: "voted", title: "voted" }, ["✓"])] : []),
      ]);
    }),
  );
}

function renderModeration(state: PageState, actions: Actions): void {
  $("moderation").hidden = !state.moderator;
  $("stories-panel").hidden = !state.moderator;
  if (!state.moderator) return;
  const story = state.story;
  for (const id of ["reveal", "reset"]) $<HTMLButtonElement>(id).disabled = !story;
  $("reveal").textContent = story?.revealed ? "Hide votes" : "Reveal votes";
  $<HTMLButtonElement>("next-story").disabled = !state.stories.length;
  $("points").replaceChildren(
    ...state.session.choices.filter(isPointChoice).map((choice) =>
      el(
        "button",
        {
          type: "button",
          disabled: !story,
          onclick: () => actions.submitPoints(choice),
        },
        [choice],
      ),
    ),
  );
  $("stories").replaceChildren(
    ...state.stories.map((s) =>
      el("li", { className: s.id === story?.id ? "active" : "" }, [
        el("button", { type: "button", onclick: () => actions.selectStory(s.id) }, [s.story_label]),
        ...(s.story_points === null
          ? []
          : [el("span", { className: "badge points" }, [String(s.story_points)])]),
      ]),
    ),
  );
}
