/**
 * The session screen's controller: the room's socket (through the SDK's `PokerRoomClient`),
 * the page state it keeps up to date, and the buttons that send commands.
 */
import { PokerApi, PokerApiError, PokerRoomClient, type PokerStoryView } from "../../client/poker";
import { CLOSE_CODES, type Reply } from "../../client/room-client";
import { CredentialError, type Seat } from "./credentials";
import { explain } from "./explain";
import { type Actions, nextEnds, type PageState, render, storedChoice } from "./room-view";
import { showSummary } from "./summary";
import { RoundTimer } from "./timer";
import { $, announce, copyText, notify, onSubmit, renderConnection, showOnly } from "./view";

const api = new PokerApi(location.origin);
const estimateKey = (id: string) => `switchboard.poker.estimate.${id}`;
const granted = (permissions: string[], name: string) =>
  permissions.some((p) => p === name || p.startsWith(`${name}:`));

const replyText = (r: Reply) => r.errors.join("; ") || `The server answered ${r.status}.`;

/** The session, asking the seat for a fresh token once if the stored one was refused. */
async function loadSession(seat: Seat, sessionId: string) {
  try {
    return await api.getSession(await seat.token(), sessionId);
  } catch (err) {
    if (!(err instanceof PokerApiError && err.status === 401)) throw err;
    return api.getSession(await seat.token(true), sessionId);
  }
}

export async function enter(sessionId: string, seat: Seat): Promise<void> {
  const session = await loadSession(seat, sessionId);
  if (session.ended) {
    await showSummary(() => seat.token(), sessionId, session.end_redirect_url);
    return;
  }
  const permissions = seat.permissions();
  const state: PageState = {
    session,
    stories: session.stories,
    story: null,
    participants: [],
    me: seat.me(),
    moderator: granted(permissions, "planning_poker.moderate"),
    canVote: granted(permissions, "planning_poker.vote"),
    estimating: localStorage.getItem(estimateKey(sessionId)) === "on",
    pending: null,
    voteError: null,
    online: false,
    links: seat.links(),
  };
  let ended = false;

  /** The socket's credential; a dead one is explained once and stops the reconnect loop. */
  let refused = false;
  const token = async () => {
    try {
      const t = await seat.token(refused);
      refused = false;
      state.me = seat.me();
      return t;
    } catch (err) {
      if (err instanceof CredentialError || err instanceof PokerApiError) {
        notify(explain(err));
        room.close();
      }
      throw err;
    }
  };
  const room: PokerRoomClient = new PokerRoomClient(location.origin, sessionId, { token });
  const timer = new RoundTimer();

  const finish = (redirectUrl?: string) => {
    if (ended) return;
    ended = true;
    room.close();
    timer.set(null, true);
    notify(null);
    $("connection").hidden = true;
    announce("The session has ended. Here is the summary.");
    void showSummary(() => seat.token(), sessionId, redirectUrl);
  };
  // A command cut short by the end of the session (its socket closed) is no failure to show.
  const act = (p: Promise<Reply>) =>
    p.then(
      (r) => ended || notify(r.status === 200 ? null : replyText(r)),
      (err) => ended || notify(explain(err)),
    );

  const sendVote = (choice: string | null) => {
    state.pending = { choice };
    state.voteError = null;
    draw();
    const sent = choice === null ? room.withdrawVote() : room.vote(choice);
    const current = () => state.pending?.choice === choice;
    sent.then(
      (reply) => {
        if (!current()) return;
        state.pending = null;
        if (reply.status !== 200) state.voteError = replyText(reply);
        else announce(choice === null ? "Your vote was taken back." : `Your vote ${choice} is in.`);
        draw();
      },
      () => {
        // Offline, the frame waits in the client's outbox and goes out on reconnect; the
        // story_changed that shows it clears the pending mark. Online, it was lost.
        if (!current() || room.state !== "open") return;
        state.pending = null;
        state.voteError = "Your vote was not confirmed. Pick the card again.";
        draw();
      },
    );
  };
  const actions: Actions = {
    vote: (choice) => sendVote(choice),
    withdraw: () => sendVote(null),
    submitPoints: (choice) => act(room.submitPoints(choice)),
    selectStory: (id) => act(room.nextStory(id)),
  };
  const draw = () => render(state, actions);

  const refreshStories = async () => {
    const fresh = await api.getSession(await seat.token(), sessionId);
    if (fresh.ended) return finish(fresh.end_redirect_url);
    state.stories = fresh.stories;
    draw();
  };

  room.on("state", ({ state: s }) => {
    state.online = s === "open";
    renderConnection(s);
    draw();
  });
  // A reconnect that keeps failing may mean the session ended while this page was away (the
  // server then refuses the upgrade with 410, which a browser socket cannot read).
  let lastCheck = 0;
  room.on("close", ({ code }) => {
    // 4401: the token expired or its key was revoked; the next attempt mints (or fails) anew.
    if (code === CLOSE_CODES.credentialExpired.code) refused = true;
    if (code === CLOSE_CODES.roomEnded.code) return finish();
    if (ended || code === 1000 || Date.now() - lastCheck < 10_000) return;
    lastCheck = Date.now();
    refreshStories().catch(() => {});
  });
  room.on("story_changed", (story) => {
    announceStory(state.story, story, state.me.id);
    state.story = story;
    const stored = storedChoice(state);
    // The vote that waited offline has arrived (its reply went to an earlier, dead socket).
    if (state.pending && state.pending.choice === stored && state.online) state.pending = null;
    draw();
  });
  room.on("story_points_submitted", (d) => {
    if (state.story?.id === d.story_id) state.story.story_points = d.story_points;
    state.stories = state.stories.map((s) =>
      s.id === d.story_id ? { ...s, story_points: d.story_points } : s,
    );
    announce(`${d.story_points} points given to the story.`);
    draw();
  });
  room.on("story_added", (story) => {
    if (!state.stories.some((s) => s.id === story.id)) state.stories.push(story);
    draw();
  });
  room.on("participants_changed", (d) => {
    announcePeople(state.participants, d.participants, state.me.id);
    state.participants = d.participants;
    draw();
  });
  room.on("timer_changed", (d) => timer.set(d));
  room.on("resync", (d) => {
    state.story = d.story ?? null;
    state.participants = d.participants;
    timer.set(d.timer, true);
    void refreshStories();
  });
  room.on("poker_session_ended", (d) => finish(d.poker_session_end_redirect_url));
  room.on("error", (d) => notify(d.errors.join("; ")));

  wireModeration(state, draw, room, seat, sessionId, act);
  $<HTMLInputElement>("estimate").onchange = (e) => {
    state.estimating = (e.target as HTMLInputElement).checked;
    localStorage.setItem(estimateKey(sessionId), state.estimating ? "on" : "off");
    draw();
  };
  if (state.moderator) {
    await loadInvites(state, seat, sessionId);
    for (const button of document.querySelectorAll<HTMLButtonElement>("[data-copy]")) {
      button.onclick = () => {
        const link = state.links?.[button.dataset.copy as "voter" | "moderator"];
        if (link) void copyText(button, link);
      };
    }
  }
  showOnly("session");
  renderConnection(room.state);
  draw();
}

function announceStory(before: PokerStoryView | null, after: PokerStoryView, me: string): void {
  if (before?.id !== after.id) announce(`New story: ${after.story_label}.`);
  else if (after.revealed && !before.revealed) announce("The votes are revealed.");
  else {
    const earlier = new Set(before.voted.map((v) => v.id));
    const fresh = after.voted.filter((v) => !earlier.has(v.id) && v.id !== me);
    if (fresh.length) announce(`${fresh.map((v) => v.name).join(", ")} voted.`);
  }
}

function announcePeople(
  before: { id: string; name: string }[],
  after: { id: string; name: string }[],
  me: string,
): void {
  const ids = (list: { id: string }[]) => new Set(list.map((p) => p.id));
  const had = ids(before);
  const has = ids(after);
  const joined = after.filter((p) => !had.has(p.id) && p.id !== me).map((p) => `${p.name} joined.`);
  const left = before.filter((p) => !has.has(p.id)).map((p) => `${p.name} left.`);
  if (joined.length || left.length) announce([...joined, ...left].join(" "));
}

function wireModeration(
  state: PageState,
  draw: () => void,
  room: PokerRoomClient,
  seat: Seat,
  sessionId: string,
  act: (p: Promise<Reply>) => Promise<unknown>,
): void {
  const report = (err: unknown) => notify(explain(err));
  const endSession = async () => api.endSession(await seat.token(), sessionId).catch(report);
  $("next-story").onclick = () => {
    if (!nextEnds(state)) return void act(room.nextStory());
    const question =
      "Every story has points. Finish the session for everyone and show the summary?";
    if (confirm(question)) void act(room.nextStory());
  };
  $("reveal").onclick = () => act(room.reveal(!state.story?.revealed));
  $("reset").onclick = () => act(room.reset());
  $("end-session").onclick = () => {
    if (confirm("End the session for everyone and show the summary?")) void endSession();
  };
  for (const button of document.querySelectorAll<HTMLButtonElement>("[data-seconds]")) {
    button.onclick = () => act(room.startTimer(Number(button.dataset.seconds)));
  }
  $("timer-stop").onclick = () => act(room.stopTimer());
  $("focus-add-story").onclick = () =>
    $("add-story").querySelector<HTMLInputElement>("input[name=story_label]")?.focus();
  const form = $<HTMLFormElement>("add-story");
  onSubmit(form, async (data) => {
    try {
      const story = await api.addStory(await seat.token(), sessionId, {
        story_label: String(data.get("story_label")),
        description: String(data.get("description") ?? ""),
      });
      if (!state.stories.some((s) => s.id === story.id)) state.stories.push(story);
      form.reset();
      notify(null);
      draw();
    } catch (err) {
      report(err);
    }
  });
}

/** Moderators get both invite links; made once per session and kept with its credentials. */
async function loadInvites(state: PageState, seat: Seat, sessionId: string): Promise<void> {
  if (state.links) return;
  try {
    const token = await seat.token();
    const [voter, moderator] = await Promise.all([
      api.createInvite(token, sessionId, { role: "voter" }),
      api.createInvite(token, sessionId, { role: "moderator" }),
    ]);
    state.links = { voter: voter.url, moderator: moderator.url };
    seat.saveLinks(state.links);
  } catch (err) {
    notify(`The invite links could not be made: ${explain(err)}`);
  }
}
