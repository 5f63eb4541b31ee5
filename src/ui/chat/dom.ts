/** DOM helpers of the chat page: lookups, element building, notices, the live region. */

import { $, el } from "../dom";

export { $, el } from "../dom";

export function notify(message: string | null): void {
  const notice = $("notice");
  notice.textContent = message ?? "";
  notice.hidden = !message;
}

/** Says something to screen-reader users without moving focus; keeps the last few lines. */
export function announce(message: string): void {
  const live = $("live");
  live.append(el("p", {}, [message]));
  while (live.childElementCount > 5) live.firstElementChild?.remove();
}

const ENTITIES: Record<string, string> = {
  "&amp;": "&",
  "&lt;": "<",
  "&gt;": ">",
  "&quot;": '"',
  "&#x27;": "'",
  "&#39;": "'",
};

/**
 * Message texts are stored HTML-escaped (as the original chat API stores them); the page shows
 * them as text (`textContent`), so the entities are turned back into characters, never parsed.
 */
export function plain(stored: string): string {
  return stored.replace(/&(?:amp|lt|gt|quot|#x27|#39);/g, (m) => ENTITIES[m] ?? m);
}

/** Runs `action` with `button` disabled, so a double click sends once. */
export async function busy(button: HTMLButtonElement, action: () => Promise<void>): Promise<void> {
  button.disabled = true;
  try {
    await action();
  } finally {
    button.disabled = false;
  }
}
