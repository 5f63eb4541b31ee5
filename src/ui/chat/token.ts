/**
 * The client token the page acts with. A link `/chat/#token=…` puts it in this browser's
 * localStorage and takes it out of the address bar and the history (it must not end up in a
 * bookmark or a screenshot); the sign-in form stores a pasted one the same way. It is never
 * shown on the page.
 */
const KEY = "switchboard.chat.token";

export function takeTokenFromAddress(): void {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (!token) return;
  history.replaceState(null, "", location.pathname + location.search);
  saveToken(token);
}

export function saveToken(token: string): void {
  localStorage.setItem(KEY, token.trim());
}

export function loadToken(): string | null {
  return localStorage.getItem(KEY);
}

export function forgetToken(): void {
  localStorage.removeItem(KEY);
}
