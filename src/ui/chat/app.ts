/**
 * The reference chat page (`/chat/`), built only on the SDK: the member's threads with live
 * unread counts (one socket per listed thread), an open thread's messages, typing notices,
 * mark-as-read, scripted questions as buttons, and surveys. Bundled by `npm run build:ui` into
 * /chat/app.js.
 */
import {
  type MemberView,
  ThreadRoomClient,
  ThreadsApi,
  ThreadsApiError,
} from "../../client/threads";
import { Conversation } from "./conversation";
import { $, announce, notify } from "./dom";
import { explain, TOKEN_REFUSED } from "./explain";
import { showSurveys } from "./surveys";
import { renderThreads } from "./thread-list";
import { forgetToken, loadToken, saveToken, takeTokenFromAddress } from "./token";

/** Sockets are opened for this many threads at most (the newest activity first). */
const MAX_LIVE_THREADS = 20;

const api = new ThreadsApi(location.origin);

class Chat {
  private readonly threads = new Map<string, MemberView>();
  private readonly sockets = new Map<string, ThreadRoomClient>();
  private open: Conversation | null = null;

  constructor(private readonly token: string) {}

  async start(): Promise<void> {
    const page = await api.listThreads(this.token, { limit: MAX_LIVE_THREADS });
    for (const t of page.results) this.threads.set(t.id, t);
    const me = page.results[0]?.user_id;
    $("signed-in-as").textContent = me ? `Signed in as ${me}.` : "Signed in.";
    $("sign-in").hidden = true;
    $("workspace").hidden = false;
    $("sign-out").hidden = false;
    for (const t of page.results) this.connect(t.id);
    this.render();
    await showSurveys(api, this.token);
  }

  private connect(threadId: string): void {
    const socket = new ThreadRoomClient(location.origin, threadId, { token: () => this.token });
    socket.on("message_created_or_updated", ({ message, user_thread }) => {
      if (this.open?.id === threadId) this.open.receive(message, user_thread);
      else this.update(user_thread, !("deleted" in message) && !message.is_own);
    });
    socket.on("thread_someone_is_writing", ({ user, length }) => {
      if (this.open?.id === threadId) this.open.showWriting(user.name, length);
    });
    socket.on("state", () => this.renderConnection());
    this.sockets.set(threadId, socket);
  }

  /** A thread's new member view; `fresh`: a new message from someone else arrived in it. */
  private update(view: MemberView, fresh = false): void {
    this.threads.set(view.id, view);
    this.render();
    if (fresh)
      announce(`New message in ${view.title || "a thread"} (${view.unread_count} unread).`);
  }

  private async openThread(id: string): Promise<void> {
    const view = this.threads.get(id);
    const socket = this.sockets.get(id);
    if (!view || !socket) return;
    this.open?.close();
    this.open = new Conversation(view, {
      api,
      token: this.token,
      socket,
      onView: (v) => this.update(v),
    });
    this.render();
    try {
      await this.open.load();
      $("message-text").focus();
    } catch (err) {
      fail(err);
    }
  }

  private render(): void {
    const sorted = [...this.threads.values()].sort((a, b) =>
      (b.last_message_data?.created ?? b.updated).localeCompare(
        a.last_message_data?.created ?? a.updated,
      ),
    );
    renderThreads(sorted, this.open?.id ?? null, (id) => void this.openThread(id));
  }

  private renderConnection(): void {
    const states = [...this.sockets.values()].map((s) => s.state);
    const badge = $("connection");
    const down = states.find((s) => s !== "open");
    badge.hidden = !down;
    badge.textContent =
      down === "reconnecting"
        ? "Offline, reconnecting…"
        : down === "closed"
          ? "Disconnected"
          : "Connecting…";
  }
}

function showSignIn(): void {
  $("workspace").hidden = true;
  $("surveys").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in").hidden = false;
}

function fail(err: unknown): void {
  if (err instanceof ThreadsApiError && err.status === 401) {
    // A refused token is of no further use: ask for another.
    forgetToken();
    showSignIn();
    notify(TOKEN_REFUSED);
    return;
  }
  notify(explain(err));
}

async function start(token: string): Promise<void> {
  notify(null);
  try {
    await new Chat(token).start();
  } catch (err) {
    fail(err);
  }
}

function main(): void {
  takeTokenFromAddress();
  const form = $<HTMLFormElement>("sign-in");
  form.onsubmit = (e) => {
    e.preventDefault();
    const input = $<HTMLInputElement>("token-input");
    const token = input.value.trim();
    if (!token) return;
    input.value = "";
    saveToken(token);
    void start(token);
  };
  $("sign-out").onclick = () => {
    forgetToken();
    location.reload();
  };
  const token = loadToken();
  if (token) void start(token);
  else showSignIn();
}

main();
