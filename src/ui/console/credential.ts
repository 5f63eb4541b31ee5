/**
 * The operator's credential (admin token or an `sbk_…` key with `console.read`), entered once and
 * kept in localStorage; the page never writes it back into the document.
 */
const KEY = "switchboard.console.credential";

export function loadCredential(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function saveCredential(secret: string): void {
  localStorage.setItem(KEY, secret);
}

export function forgetCredential(): void {
  localStorage.removeItem(KEY);
}
