/**
 * The start screen. With an organiser link stored it asks only for the session's name and
 * cards; the admin token is an "Advanced" option for operators. The page mints its own tokens
 * and never shows one.
 */
import { PokerApi } from "../../client/poker";
import { Organiser, readClaims, saveSession } from "./credentials";
import { explain } from "./explain";
import { $, notify, onSubmit, showOnly } from "./view";

const api = new PokerApi(location.origin);

function field(form: HTMLFormElement, name: string): HTMLInputElement {
  return form.elements.namedItem(name) as HTMLInputElement;
}

export async function showCreate(stored: Organiser | null): Promise<void> {
  showOnly("create");
  const form = $<HTMLFormElement>("create");
  let organiser = stored;
  const signedIn = (name: string | null) => {
    $("organiser-status").hidden = !name;
    $("organiser-name").textContent = name ?? "";
    $("organiser-via").textContent =
      organiser?.credential.kind === "key" ? " with your organiser link" : " with the admin token";
    $("no-organiser").hidden = !!name;
    $<HTMLDetailsElement>("advanced").open = !name;
  };
  signedIn(null);
  if (organiser) {
    try {
      signedIn(readClaims(await organiser.token(true)).user.name);
    } catch (err) {
      organiser = null;
      notify(explain(err));
    }
  }
  $("forget-organiser").onclick = () => {
    Organiser.forget();
    organiser = null;
    signedIn(null);
  };
  onSubmit(form, async (data) => {
    const adminToken = String(data.get("token") ?? "").trim();
    const choices = String(data.get("choices"))
      .split(",")
      .map((c) => c.trim())
      .filter(Boolean);
    if (adminToken) {
      const name = String(data.get("moderator") ?? "").trim();
      if (!name) {
        notify("Type your name under Advanced, next to the admin token.");
        field(form, "moderator").focus();
        return;
      }
      const id = `organiser-${crypto.randomUUID()}`;
      organiser = Organiser.save({ kind: "admin", secret: adminToken, user: { id, name } });
    }
    if (!organiser) {
      notify("Open the organiser link your admin gave you, or use an admin token under Advanced.");
      return;
    }
    try {
      const token = await organiser.token();
      const session = await api.createSession(token, { name: String(data.get("name")), choices });
      saveSession(session.id, { mode: "organiser" });
      location.assign(`/poker/?session=${encodeURIComponent(session.id)}`);
    } catch (err) {
      notify(`The session could not be started. ${explain(err)}`);
    }
  });
}
