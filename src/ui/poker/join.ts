/**
 * The join screen of an invite link: it names the session at once (the invite preview, no
 * token needed) and says so when the session has ended or the invite is dead.
 */
import { PokerApi, PokerApiError } from "../../client/poker";
import { guestSeat, joinSession } from "./credentials";
import { explain, INVITE_DEAD, SESSION_ENDED } from "./explain";
import { enter } from "./session";
import { $, notify, onSubmit, showOnly } from "./view";

const api = new PokerApi(location.origin);
const LAST_NAME = "switchboard.poker.name";

export async function showJoin(sessionId: string, invite: string): Promise<void> {
  showOnly("join");
  const form = $<HTMLFormElement>("join");
  const nameInput = form.elements.namedItem("name") as HTMLInputElement;
  nameInput.value = localStorage.getItem(LAST_NAME) ?? "";
  const closed = (message: string) => {
    notify(message);
    form.hidden = true;
  };
  onSubmit(form, async (data) => {
    try {
      const name = String(data.get("name")).trim();
      const creds = await joinSession(api, sessionId, invite, name);
      localStorage.setItem(LAST_NAME, name);
      history.replaceState(null, "", `/poker/?session=${encodeURIComponent(sessionId)}`);
      notify(null);
      await enter(sessionId, guestSeat(api, sessionId, creds));
    } catch (err) {
      notify(`Could not join. ${explain(err)}`);
    }
  });
  nameInput.focus();
  try {
    const preview = await api.previewInvite(sessionId, invite);
    $("title").textContent = preview.name;
    $("join-title").textContent = `Join “${preview.name}”`;
    $("join-role").textContent =
      preview.role === "moderator"
        ? "You are invited to run this session with the moderator."
        : "You are invited to estimate with the team. Just type your name.";
    if (preview.ended) closed(SESSION_ENDED);
  } catch (err) {
    if (!(err instanceof PokerApiError)) return;
    if (err.status === 410) closed(SESSION_ENDED);
    else if (err.status === 403) closed(INVITE_DEAD);
  }
}
