// The local organiser's API key behind the link `npm start` prints (contract §3, organiser links):
// a team lead runs poker sessions from /poker/#key=… without ever handling the admin token.
import { readFileSync, writeFileSync } from "node:fs";

const ORGANISER = {
  name: "Local organiser (npm start)",
  user: { id: "organiser", name: "Organiser" },
  permissions: ["planning_poker.moderate", "planning_poker.vote"],
};
/** Long enough for a bookmarked link to last; a new one is minted when it runs out. */
const EXPIRES_IN_DAYS = 30;
/** A key this close to its end is replaced, so a link just printed keeps working for a day. */
const RENEW_BEFORE_MS = 86_400_000;

/**
 * The `sbk_…` key kept in `file` when the server still lists its id, unrevoked and not about to
 * expire; otherwise a new key, written to `file`. The key lives beside the local D1 it is valid
 * in, so wiping that state also forgets the key.
 */
export async function ensureOrganiserKey({ url, adminToken, file }) {
  const admin = { Authorization: `Bearer ${adminToken}` };
  const kept = readKept(file);
  if (kept && (await isLive(url, admin, kept.id))) return kept.key;
  const res = await fetch(`${url}/api/keys`, {
    method: "POST",
    headers: { ...admin, "Content-Type": "application/json" },
    body: JSON.stringify({ ...ORGANISER, expires_in_days: EXPIRES_IN_DAYS }),
  });
  if (res.status !== 201) throw await refused(res);
  const { id, key } = await res.json();
  writeFileSync(file, `${JSON.stringify({ id, key })}\n`, { mode: 0o600 });
  return key;
}

function readKept(file) {
  try {
    const { id, key } = JSON.parse(readFileSync(file, "utf8"));
    return typeof id === "string" && typeof key === "string" ? { id, key } : null;
  } catch {
    return null; // none yet, or unreadable: a new key replaces it
  }
}

/** Pages through `GET /api/keys` (newest first, revoked ones included) for the kept id. */
async function isLive(url, admin, id) {
  for (let offset = 0; offset !== null; ) {
    const res = await fetch(`${url}/api/keys?limit=200&offset=${offset}`, { headers: admin });
    if (res.status !== 200) throw await refused(res);
    const page = await res.json();
    const found = page.results.find((key) => key.id === id);
    if (found) {
      const expiresAt = found.expires_at === null ? Infinity : Date.parse(found.expires_at);
      return found.revoked_at === null && expiresAt - Date.now() > RENEW_BEFORE_MS;
    }
    offset = page.next;
  }
  return false;
}

async function refused(res) {
  return new Error(`${new URL(res.url).pathname} answered ${res.status}: ${await res.text()}`);
}
