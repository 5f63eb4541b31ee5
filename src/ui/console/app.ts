/**
 * The operators' console (contract §9): asks once for the admin token or an API key holding
 * `console.read`, then follows `GET /api/console/stream` (server-sent events: stats and rooms
 * every 5 s, errors as they are stored). Only if the stream cannot be opened does it poll the
 * read API every 5 seconds with fetch instead.
 */
import {
  explain,
  type Hook,
  type LiveRoom,
  type Page,
  type RecentError,
  request,
  type Stats,
} from "./api";
import { forgetCredential, loadCredential, saveCredential } from "./credential";
import { byId } from "./dom";
import { addErrors, clearErrors } from "./errors";
import { renderRooms, renderTotals, showRoom } from "./rooms";
import { loadHook, renderErrors, renderHooks } from "./webhooks";

const REFRESH_MS = 5000;
/** Hooks charted per refresh: each costs two calls. */
const MAX_HOOKS = 20;

let timer: ReturnType<typeof setTimeout> | undefined;
let stream: EventSource | undefined;
/** The generation whose webhook refresh is in flight, so a new credential never waits on an old one. */
let refreshing: number | undefined;
/** Bumped on every sign-in and sign-out, so a loop of an earlier credential stops. */
let generation = 0;

function showDashboard(): void {
  byId("notice").hidden = true;
  byId("dashboard").hidden = false;
}

function showProblem(err: unknown): void {
  const notice = byId("notice");
  notice.textContent = explain(err);
  notice.hidden = false;
}

/** The webhook panels: the stream does not carry them, so they are read when stats arrive. */
async function refreshHooks(secret: string, mine: number): Promise<void> {
  const hooks = await request<Page<Hook>>(secret, "GET", `/api/webhooks?limit=${MAX_HOOKS}`);
  const views = await Promise.all(hooks.results.map((hook) => loadHook(secret, hook)));
  // Signed out or in as someone else meanwhile: these buttons would act with the old credential.
  if (mine !== generation) return;
  renderHooks(secret, views, () => void refreshHooks(secret, mine).catch(showProblem));
  renderErrors(views);
}

function renderStats(secret: string, stats: Stats, mine: number): void {
  renderTotals(stats);
  if (refreshing === mine) return;
  refreshing = mine;
  refreshHooks(secret, mine)
    .catch(showProblem)
    .finally(() => {
      if (refreshing === mine) refreshing = undefined;
    });
}

function renderRoomPage(secret: string, rooms: Page<LiveRoom>): void {
  renderRooms(rooms, (room) => void showRoom(secret, room));
}

/** One round of the fallback: every panel read with fetch. */
async function poll(secret: string, mine: number): Promise<void> {
  try {
    const [stats, rooms, errors] = await Promise.all([
      request<Stats>(secret, "GET", "/api/stats"),
      request<Page<LiveRoom>>(secret, "GET", "/api/rooms?limit=50"),
      request<Page<RecentError>>(secret, "GET", "/api/errors?limit=50"),
    ]);
    if (mine !== generation) return;
    renderTotals(stats);
    renderRoomPage(secret, rooms);
    addErrors(errors);
    await refreshHooks(secret, mine);
    showDashboard();
  } catch (err) {
    showProblem(err);
  }
}

function startPolling(secret: string, mine: number): void {
  const loop = async () => {
    await poll(secret, mine);
    if (mine === generation) timer = setTimeout(loop, REFRESH_MS);
  };
  void loop();
}

function startStream(secret: string, mine: number): void {
  const url = new URL("/api/console/stream", location.origin);
  // EventSource cannot send a header; this route reads `?token=` (contract §1).
  url.searchParams.set("token", secret);
  const source = new EventSource(url);
  stream = source;
  const on = <T>(event: string, render: (data: T) => void) =>
    source.addEventListener(event, (e) => {
      render(JSON.parse((e as MessageEvent<string>).data) as T);
      showDashboard();
    });
  on<Stats>("stats", (stats) => renderStats(secret, stats, mine));
  on<Page<LiveRoom>>("rooms", (rooms) => renderRoomPage(secret, rooms));
  on<Page<RecentError>>("errors", addErrors);
  source.addEventListener("error", () => {
    // A dropped stream is reopened by EventSource itself; CLOSED means it was refused (401,
    // 403, not an event stream): polling then explains why, or keeps the page working.
    if (source.readyState !== EventSource.CLOSED || mine !== generation) return;
    stream = undefined;
    startPolling(secret, mine);
  });
}

function start(secret: string): void {
  byId("signin").hidden = true;
  byId("signed-in").hidden = false;
  startStream(secret, ++generation);
}

function stop(): void {
  generation++;
  clearTimeout(timer);
  stream?.close();
  stream = undefined;
  clearErrors();
  // Nothing drawn for the last credential survives it: its buttons would still act with it.
  for (const id of ["hooks", "errors", "rooms", "room-kinds", "bus"]) byId(id).replaceChildren();
  byId("room-details").hidden = true;
  byId("action-status").textContent = "";
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
    stop();
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
