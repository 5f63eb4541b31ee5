/** DOM helpers shared by the page's screens: lookups, element building, forms, notices. */

import { $, el } from "../dom";

export { $, el } from "../dom";

export type Screen = "create" | "join" | "session" | "summary";

export function showOnly(id: Screen | null): void {
  for (const section of ["create", "join", "session", "summary"]) {
    $(section).hidden = section !== id;
  }
}

/**
 * Handles a form's submit: reads its data, then runs `send` with the form's controls disabled,
 * so a slow answer cannot reset what was typed after it, and a double click sends once.
 */
export function onSubmit(form: HTMLFormElement, send: (data: FormData) => Promise<void>): void {
  form.onsubmit = async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const controls = Array.from(form.elements) as (HTMLInputElement | HTMLButtonElement)[];
    for (const control of controls) control.disabled = true;
    try {
      await send(data);
    } finally {
      for (const control of controls) control.disabled = false;
    }
  };
}

export function notify(message: string | null): void {
  const notice = $("notice");
  notice.textContent = message ?? "";
  notice.hidden = !message;
}

/**
 * Says something to screen-reader users (joins, votes, the reveal) without moving focus. Each
 * message is a new line in the live region, so one said right after another is not lost; only
 * the last few are kept.
 */
export function announce(message: string): void {
  const live = $("live");
  live.append(el("p", {}, [message]));
  while (live.childElementCount > 5) live.firstElementChild?.remove();
}

export function renderConnection(state: string): void {
  const badge = $("connection");
  badge.hidden = state === "open";
  badge.textContent =
    state === "reconnecting"
      ? "Offline, reconnecting…"
      : state === "closed"
        ? "Disconnected"
        : "Connecting…";
  badge.dataset.state = state;
}

/** Copies text to the clipboard and says so on the button for a moment. */
export async function copyText(button: HTMLButtonElement, text: string): Promise<void> {
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied!";
  } catch {
    button.textContent = "Copy failed";
  }
  setTimeout(() => {
    button.textContent = label;
  }, 1500);
}
