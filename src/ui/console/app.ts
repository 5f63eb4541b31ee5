/**
 * The operators' console (contract §9): asks once for the admin token or an API key holding
 * `console.read`, then polls the read API every 5 seconds with fetch (no reload, no socket).
 */
import { explain, type Hook, type LiveRoom, type Page, request, type Stats } from "./api";
import { forgetCredential, loadCredential, saveCredential } from "./credential";
import { byId } from "./dom";
import { renderRooms, renderTotals, showRoom } from "./rooms";
import { loadHook, renderErrors, renderHooks } from "./webhooks";

const REFRESH_MS = 5000;
/** Hooks charted per refresh: each costs two calls. */
const MAX_HOOKS = 20;

let timer: ReturnType<typeof setTimeout> | undefined;
let running = false;
/** Bumped on every sign-in and sign-out, so a loop of an earlier credential stops. */
let generation = 0;

async function refresh(secret: string): Promise<void> {
  if (running) return;
  running = true;
  const notice = byId("notice");
  try {
    const [stats, rooms, hooks] = await Promise.all([
      request<Stats>(secret, "GET", "/api/stats"),
      request<Page<LiveRoom>>(secret, "GET", "/api/rooms?limit=50"),
      request<Page<Hook>>(secret, "GET", `/api/webhooks?limit=${MAX_HOOKS}`),
    ]);
    const views = await Promise.all(hooks.results.map((hook) => loadHook(secret, hook)));
    renderTotals(stats);
    renderRooms(rooms, (room) => void showRoom(secret, room));
    renderHooks(secret, views, () => void refresh(secret));
    renderErrors(views);
    notice.hidden = true;
    byId("dashboard").hidden = false;
  } catch (err) {
    notice.textContent = explain(err);
    notice.hidden = false;
  } finally {
    running = false;
  }
}

function start(secret: string): void {
  byId("signin").hidden = true;
  byId("signed-in").hidden = false;
  const mine = ++generation;
  const loop = async () => {
    await refresh(secret);
    if (mine === generation) timer = setTimeout(loop, REFRESH_MS);
  };
  void loop();
}

function main(): void {
  const form = byId<HTMLFormElement>("signin");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const input = byId<HTMLInputElement>("secret");
    const secret = input.value.trim();
    if (!secret) return;
    saveCredential(secret);
    // The credential is never shown again, not even in the field it was typed into.
    input.value = "";
    start(secret);
  });
  byId("forget").addEventListener("click", () => {
    generation++;
    clearTimeout(timer);
    forgetCredential();
    byId("dashboard").hidden = true;
    byId("signed-in").hidden = true;
    byId("notice").hidden = true;
    form.hidden = false;
  });
  const stored = loadCredential();
  if (stored) start(stored);
  else form.hidden = false;
}

main();
