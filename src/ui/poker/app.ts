/**
 * The planning-poker page: start a session, join with an invite, play, see the summary.
 * Bundled by `npm run build:ui` into /poker/app.js. Which screen shows depends on the address
 * (`#key=` organiser link, `?session=` with or without `&invite=`) and on what this browser
 * has stored (`credentials.ts`).
 */
import { PokerApi } from "../../client/poker";
import { showCreate } from "./create";
import { guestSeat, loadSession, Organiser, organiserSeat } from "./credentials";
import { explain } from "./explain";
import { showJoin } from "./join";
import { enter } from "./session";
import { notify, showOnly } from "./view";

const api = new PokerApi(location.origin);

/** An organiser link's key is stored, then taken out of the address bar and the history. */
function takeKeyFromAddress(): Organiser | null {
  const key = new URLSearchParams(location.hash.slice(1)).get("key");
  if (!key) return null;
  history.replaceState(null, "", location.pathname + location.search);
  return Organiser.save({ kind: "key", secret: key });
}

async function main(): Promise<void> {
  const organiser = takeKeyFromAddress() ?? Organiser.load();
  const params = new URLSearchParams(location.search);
  const sessionId = params.get("session");
  if (!sessionId) return showCreate(organiser);
  const sessionUrl = `/poker/?session=${encodeURIComponent(sessionId)}`;
  const creds = loadSession(sessionId);
  const invite = params.get("invite");
  if (creds?.mode === "guest") {
    // An expired token is replaced by joining again with the stored invite and name.
    history.replaceState(null, "", sessionUrl);
    return enter(sessionId, guestSeat(api, sessionId, creds));
  }
  if (invite) return showJoin(sessionId, invite);
  if (organiser) {
    const first = await organiser.token();
    history.replaceState(null, "", sessionUrl);
    return enter(sessionId, organiserSeat(organiser, sessionId, first));
  }
  showOnly(null);
  notify("You need an invite link to join this session. Ask the moderator for one.");
}

main().catch((err) => {
  showOnly(null);
  notify(explain(err));
});
