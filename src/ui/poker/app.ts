/**
 * The planning-poker page: create a session, join with an invite, play. Bundled by
 * `npm run build:ui` into /poker/app.js. Credentials live in localStorage: the admin (or
 * moderator) token used to create sessions, and per session the token minted on joining.
 */
import { PokerApi, PokerApiError, type PokerJoined, PokerRoomClient } from "../../client/poker";
import { $, notify, onSubmit, type PageState, render, renderConnection, showOnly } from "./view";

const ADMIN_KEY = "switchboard.poker.adminToken";
const sessionKey = (id: string) => `switchboard.poker.session.${id}`;

interface Credentials extends PokerJoined {
  links?: { voter: string; moderator: string };
}

const api = new PokerApi(location.origin);

function loadCredentials(sessionId: string): Credentials | null {
  const raw = localStorage.getItem(sessionKey(sessionId));
  const creds = raw ? (JSON.parse(raw) as Credentials) : null;
  return creds && Date.parse(creds.expires_at) > Date.now() + 60_000 ? creds : null;
}

function saveCredentials(creds: Credentials): void {
  localStorage.setItem(sessionKey(creds.session_id), JSON.stringify(creds));
}

function errorText(err: unknown): string {
  if (err instanceof PokerApiError) return `${err.message} (${err.status})`;
  return err instanceof Error ? err.message : String(err);
}

// ---- create --------------------------------------------------------------------------------

function showCreate(): void {
  showOnly("create");
  const form = $<HTMLFormElement>("create");
  const tokenInput = form.elements.namedItem("token") as HTMLInputElement;
  const saved = localStorage.getItem(ADMIN_KEY);
  const showSaved = (on: boolean) => {
    tokenInput.closest("label")!.hidden = on;
    tokenInput.required = !on;
    $("token-saved").hidden = !on;
  };
  showSaved(!!saved);
  $("forget-token").onclick = () => {
    localStorage.removeItem(ADMIN_KEY);
    showSaved(false);
  };
  onSubmit(form, async (data) => {
    const token = String(data.get("token") || "") || localStorage.getItem(ADMIN_KEY) || "";
    const choices = String(data.get("choices"))
      .split(",")
      .map((c) => c.trim())
      .filter(Boolean);
    try {
      const session = await api.createSession(token, { name: String(data.get("name")), choices });
      localStorage.setItem(ADMIN_KEY, token);
      const [moderator, voter] = await Promise.all([
        api.createInvite(token, session.id, { role: "moderator" }),
        api.createInvite(token, session.id, { role: "voter" }),
      ]);
      const joined = await api.join(session.id, {
        invite: moderator.invite,
        name: String(data.get("moderator")),
      });
      saveCredentials({ ...joined, links: { moderator: moderator.url, voter: voter.url } });
      location.assign(`/poker/?session=${encodeURIComponent(session.id)}`);
    } catch (err) {
      notify(`Could not create the session: ${errorText(err)}`);
    }
  });
}

// ---- join ----------------------------------------------------------------------------------

function showJoin(sessionId: string, invite: string): void {
  showOnly("join");
  onSubmit($<HTMLFormElement>("join"), async (data) => {
    try {
      const name = String(data.get("name"));
      const joined = await api.join(sessionId, { invite, name });
      saveCredentials(joined);
      history.replaceState(null, "", `/poker/?session=${encodeURIComponent(sessionId)}`);
      await enter(sessionId, joined);
    } catch (err) {
      notify(
        err instanceof PokerApiError && err.status === 410
          ? "This session has ended."
          : `Could not join: ${errorText(err)}`,
      );
    }
  });
}

// ---- play ----------------------------------------------------------------------------------

async function enter(sessionId: string, creds: Credentials): Promise<void> {
  const token = creds.token;
  const session = await api.getSession(token, sessionId);
  if (session.ended) {
    notify("This session has ended.");
    showOnly(null);
    return;
  }
  const state: PageState = {
    session,
    stories: session.stories,
    story: null,
    participants: [],
    me: creds.user,
    moderator: creds.permissions.includes("planning_poker.moderate"),
    voter: creds.permissions.includes("planning_poker.vote"),
  };
  const room = new PokerRoomClient(location.origin, sessionId, { token: () => token });
  const act = (p: Promise<{ status: number; errors: string[] }>) =>
    p.then(
      (r) => notify(r.status === 200 ? null : r.errors.join("; ")),
      (err) => notify(errorText(err)),
    );
  const actions = {
    vote: (choice: string) => act(room.vote(choice)),
    submitPoints: (choice: string) => act(room.submitPoints(choice)),
    selectStory: (id: string) => act(room.nextStory(id)),
  };
  const draw = () => render(state, actions);
  const refreshStories = async () => {
    state.stories = (await api.getSession(token, sessionId)).stories;
    draw();
  };

  room.on("state", ({ state: s }) => renderConnection(s));
  room.on("story_changed", (story) => {
    state.story = story;
    draw();
  });
  room.on("story_points_submitted", (d) => {
    if (state.story?.id === d.story_id) state.story.story_points = d.story_points;
    state.stories = state.stories.map((s) =>
      s.id === d.story_id ? { ...s, story_points: d.story_points } : s,
    );
    draw();
  });
  room.on("story_added", (story) => {
    if (!state.stories.some((s) => s.id === story.id)) state.stories.push(story);
    draw();
  });
  room.on("participants_changed", (d) => {
    state.participants = d.participants;
    draw();
  });
  room.on("resync", (d) => {
    state.story = d.story ?? null;
    state.participants = d.participants;
    void refreshStories();
  });
  room.on("poker_session_ended", (d) => {
    room.close();
    localStorage.removeItem(sessionKey(sessionId));
    location.assign(d.poker_session_end_redirect_url);
  });
  room.on("error", (d) => notify(d.errors.join("; ")));

  wireModeration(state, draw, room, token, sessionId);
  if (state.moderator) await showInvites(creds, token, sessionId);
  showOnly("session");
  renderConnection(room.state);
  draw();
}

function wireModeration(
  state: PageState,
  draw: () => void,
  room: PokerRoomClient,
  token: string,
  sessionId: string,
): void {
  const report = (err: unknown) => notify(errorText(err));
  $("next-story").onclick = () => room.nextStory().catch(report);
  $("reveal").onclick = () => room.reveal(!state.story?.revealed).catch(report);
  $("reset").onclick = () => room.reset().catch(report);
  $("end-session").onclick = () => {
    if (confirm("End the session for everyone?")) api.endSession(token, sessionId).catch(report);
  };
  const form = $<HTMLFormElement>("add-story");
  onSubmit(form, async (data) => {
    try {
      const story = await api.addStory(token, sessionId, {
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

/** Moderators see both invite links; one who joined by a link makes them with its own token. */
async function showInvites(creds: Credentials, token: string, sessionId: string): Promise<void> {
  let links = creds.links;
  if (!links) {
    const [voter, moderator] = await Promise.all([
      api.createInvite(token, sessionId, { role: "voter" }),
      api.createInvite(token, sessionId, { role: "moderator" }),
    ]);
    links = { voter: voter.url, moderator: moderator.url };
    saveCredentials({ ...creds, links });
  }
  $<HTMLInputElement>("voter-link").value = links.voter;
  $<HTMLInputElement>("moderator-link").value = links.moderator;
  for (const id of ["voter-link", "moderator-link"]) {
    $<HTMLInputElement>(id).onfocus = (e) => (e.target as HTMLInputElement).select();
  }
  $("invites").hidden = false;
}

// ---- start ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const sessionId = params.get("session");
  if (!sessionId) {
    showCreate();
    return;
  }
  const creds = loadCredentials(sessionId);
  const invite = params.get("invite");
  if (creds) {
    history.replaceState(null, "", `/poker/?session=${encodeURIComponent(sessionId)}`);
    await enter(sessionId, creds);
  } else if (invite) showJoin(sessionId, invite);
  else {
    showOnly(null);
    notify("You need an invite link to join this session.");
  }
}

main().catch((err) => notify(errorText(err)));
