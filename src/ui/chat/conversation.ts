/**
 * One open thread: its messages (listed over REST, then live from the thread's socket), the
 * composer with "someone is writing" both ways, mark-as-read and the scripted question.
 */
import type {
  DeletedMessage,
  MemberView,
  MessageView,
  ThreadRoomClient,
  ThreadsApi,
} from "../../client/threads";
import { $, announce, el, notify, plain } from "./dom";
import { explain } from "./explain";
import { currentQuestion, renderQuestion } from "./question";

/** Writing notices are sent at most this often while the member types, each lasting twice that. */
const WRITING_EVERY_MS = 2000;
/** A notice never shows longer than this, whatever `length` another client sends. */
const WRITING_MAX_MS = 10_000;

export interface ConversationDeps {
  api: ThreadsApi;
  token: string;
  socket: ThreadRoomClient;
  /** The member's new view of this thread (unread count, state). */
  onView: (view: MemberView) => void;
}

function time(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function messageItem(m: MessageView): HTMLLIElement {
  const who = m.is_own ? "You" : (m.sender_data?.name ?? "Conversation");
  const item = el(
    "li",
    { className: m.is_own ? "message own" : m.sender ? "message" : "message system" },
    [
      el("span", { className: "who" }, [who]),
      el("time", { dateTime: m.created }, [time(m.created)]),
      el("p", {}, [plain(m.text)]),
    ],
  );
  item.dataset.message = String(m.id);
  return item;
}

export class Conversation {
  private messages: MessageView[] = [];
  private lastWritingSent = 0;
  private writingTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private view: MemberView,
    private readonly deps: ConversationDeps,
  ) {
    $("conversation").hidden = false;
    $("pick-thread").hidden = true;
    $("thread-title").textContent = view.title || "Untitled thread";
    $("messages").replaceChildren();
    $("writing").textContent = "";
    this.bindComposer();
    $<HTMLButtonElement>("mark-read").onclick = () => void this.load();
  }

  get id(): string {
    return this.view.id;
  }

  /** Lists the newest messages, which also marks them read for this member (contract §7). */
  async load(): Promise<void> {
    const page = await this.deps.api.listMessages(this.deps.token, this.view.id, { limit: 50 });
    this.messages = page.results.slice().sort((a, b) => a.id - b.id);
    $("messages").replaceChildren(...this.messages.map(messageItem));
    this.scrollToEnd();
    this.setView(await this.deps.api.getThread(this.deps.token, this.view.id));
  }

  /** A message from the socket (or our own post's answer): added, replaced or removed. */
  receive(message: MessageView | DeletedMessage, view: MemberView): void {
    this.setView(view);
    const list = $("messages");
    const shown = list.querySelector(`[data-message="${message.id}"]`);
    if ("deleted" in message) {
      this.messages = this.messages.filter((m) => m.id !== message.id);
      shown?.remove();
      this.renderQuestion();
      return;
    }
    const at = this.messages.findIndex((m) => m.id === message.id);
    if (at >= 0) {
      this.messages[at] = message;
      shown?.replaceWith(messageItem(message));
    } else {
      // In id order: a post's own answer may arrive after the socket's later messages.
      const after = this.messages.findIndex((m) => m.id > message.id);
      const item = messageItem(message);
      if (after < 0) {
        this.messages.push(message);
        list.append(item);
      } else {
        list.querySelector(`[data-message="${this.messages[after]?.id}"]`)?.before(item);
        this.messages.splice(after, 0, message);
      }
      this.scrollToEnd();
      if (!message.is_own) this.clearWriting();
    }
    this.renderQuestion();
    if (!message.is_own && !message.is_read && document.visibilityState === "visible") {
      void this.markRead(message.id);
    }
  }

  showWriting(name: string, lengthMs: number): void {
    const writing = $("writing");
    writing.textContent = `${name} is writing…`;
    if (this.writingTimer) clearTimeout(this.writingTimer);
    this.writingTimer = setTimeout(() => this.clearWriting(), Math.min(lengthMs, WRITING_MAX_MS));
  }

  close(): void {
    this.clearWriting();
    $("conversation").hidden = true;
    $("pick-thread").hidden = false;
  }

  private clearWriting(): void {
    if (this.writingTimer) clearTimeout(this.writingTimer);
    this.writingTimer = null;
    $("writing").textContent = "";
  }

  private async markRead(messageId: number): Promise<void> {
    const reply = await this.deps.socket.markRead(messageId).catch(() => null);
    if (reply?.status === 200 && reply.data) {
      this.setView({ ...this.view, unread_count: reply.data.unread_count });
    }
  }

  private setView(view: MemberView): void {
    this.view = view;
    const button = $<HTMLButtonElement>("mark-read");
    button.disabled = view.unread_count === 0;
    button.textContent = view.unread_count ? `Mark ${view.unread_count} as read` : "All read";
    this.deps.onView(view);
    this.renderQuestion();
  }

  private renderQuestion(): void {
    renderQuestion(currentQuestion(this.messages, this.view), (answers) =>
      // A refusal is said in the notice by `post`.
      this.post({ answers, text: "" }).catch(() => undefined),
    );
  }

  private async post(input: { text: string; answers?: number[] }): Promise<void> {
    try {
      notify(null);
      const posted = await this.deps.api.postMessage(this.deps.token, this.view.id, input);
      if (posted) {
        // Only the message: the view in the answer can be older than what the socket has said
        // since (the next question and its mark-as-read), and the socket brings ours in order.
        const { user_thread: _older, ...message } = posted;
        this.receive(message, this.view);
      }
      if (input.answers) announce("Answer sent.");
    } catch (err) {
      notify(explain(err));
      throw err;
    }
  }

  private bindComposer(): void {
    const form = $<HTMLFormElement>("compose");
    const text = $<HTMLTextAreaElement>("message-text");
    text.value = "";
    text.oninput = () => {
      const now = performance.now();
      if (!text.value || now - this.lastWritingSent < WRITING_EVERY_MS) return;
      this.lastWritingSent = now;
      this.deps.socket.writing(WRITING_EVERY_MS * 2);
    };
    text.onkeydown = (e) => {
      // Enter sends, Shift+Enter is a new line, as in most chat apps.
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        form.requestSubmit();
      }
    };
    form.onsubmit = async (e) => {
      e.preventDefault();
      const value = text.value.trim();
      if (!value) return;
      const send = $<HTMLButtonElement>("send");
      send.disabled = true;
      try {
        await this.post({ text: value });
        text.value = "";
      } catch {
        // Said in the notice; the text stays so it can be sent again.
      } finally {
        send.disabled = false;
        text.focus();
      }
    };
  }

  private scrollToEnd(): void {
    const log = $("message-log");
    log.scrollTop = log.scrollHeight;
  }
}
