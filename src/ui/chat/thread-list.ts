/** The thread list: one button per thread with its unread count and last message. */
import type { MemberView } from "../../client/threads";
import { $, el, plain } from "./dom";

function preview(thread: MemberView): string {
  const last = thread.last_message_data;
  if (!last) return "No messages yet";
  const who = last.is_own ? "You" : (last.sender_data?.name ?? "Conversation");
  return `${who}: ${plain(last.text)}`;
}

export function renderThreads(
  threads: MemberView[],
  openId: string | null,
  onOpen: (id: string) => void,
): void {
  const list = $("thread-list");
  $("no-threads").hidden = threads.length > 0;
  list.replaceChildren(
    ...threads.map((t) => {
      const unread = t.unread_count;
      const badge = el("span", { className: "unread" }, [String(unread)]);
      badge.hidden = unread === 0;
      badge.dataset.count = String(unread);
      const button = el("button", { type: "button", className: "thread" }, [
        el("span", { className: "thread-title" }, [t.title || "Untitled thread"]),
        badge,
        el("span", { className: "visually-hidden" }, [unread ? `, ${unread} unread` : ""]),
        el("span", { className: "thread-last" }, [preview(t)]),
      ]);
      button.dataset.thread = t.id;
      if (t.id === openId) button.setAttribute("aria-current", "true");
      button.onclick = () => onOpen(t.id);
      return el("li", {}, [button]);
    }),
  );
}
