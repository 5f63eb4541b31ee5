import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { hashApiKey, KEY_LIVENESS_CACHE_MS, liveKeyIds } from "../../../src/platform/auth/api-keys";
import { insertApiKey } from "../../../src/platform/auth/api-keys-queries";
import { getDb } from "../../../src/platform/db";
import { ADMIN, call, tokenFor } from "../../helpers/http";
import { connect, tryConnect } from "../../helpers/ws";

const DAY_MS = 86_400_000;

interface CreatedKey {
  id: string;
  key: string;
  name: string;
  permissions: string[];
  expires_at: string | null;
}

async function createKey(body: Record<string, unknown> = {}): Promise<CreatedKey> {
  const res = await call("POST", "/api/keys", {
    token: ADMIN,
    body: { name: "Team Blue organiser", user: { id: "lead", name: "Lead" }, ...body },
  });
  if (res.status !== 201)
    throw new Error(`creating a key: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function keyRowById(id: string) {
  return env.DB.prepare("SELECT * FROM api_keys WHERE id = ?").bind(id).first<any>();
}

/** Every key on the list's pages, as the admin sees them. */
async function listedKey(id: string) {
  for (let offset = 0; ; offset += 200) {
    const res = await call("GET", `/api/keys?limit=200&offset=${offset}`, { token: ADMIN });
    const found = res.body.results.find((k: any) => k.id === id);
    if (found || res.body.next === null) return found;
  }
}

/** Mints a client token with an API key; answers the raw response. */
const mintWith = (key: string, body: Record<string, unknown> = {}) =>
  call("POST", "/api/tokens", { token: key, body });

/** `Date` moves only when told; timeouts still run in real time. */
function useClock() {
  let now = Date.now();
  vi.useFakeTimers({ toFake: ["Date"], now });
  return (ms: number) => {
    now += ms;
    vi.setSystemTime(now);
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("POST /api/keys", () => {
  it("shows the key once and stores only its SHA-256", async () => {
    const created = await createKey({ permissions: ["planning_poker.moderate"] });
    expect(created.key).toMatch(/^sbk_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({
      name: "Team Blue organiser",
      permissions: ["planning_poker.moderate"],
      expires_at: null,
    });
    const row = await keyRowById(created.id);
    expect(row.key_hash).toBe(await hashApiKey(created.key));
    expect(JSON.stringify(row)).not.toContain(created.key.slice(4));
  });

  it("sets expires_at from expires_in_days", async () => {
    const before = Date.now();
    const created = await createKey({ expires_in_days: 30 });
    const expiresAt = Date.parse(created.expires_at ?? "");
    expect(expiresAt).toBeGreaterThanOrEqual(before + 30 * DAY_MS);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 30 * DAY_MS);
  });

  it("refuses bad input naming the field and stores nothing", async () => {
    const name = `bad-${crypto.randomUUID()}`;
    const cases: [Record<string, unknown>, string][] = [
      [{ user: { id: "x,user:victim", name: "X" } }, "user.id"],
      [{ user: { id: "a".repeat(129), name: "X" } }, "user.id"],
      [{ user: { id: "x", name: "" } }, "user.name"],
      [{ expires_in_days: 0 }, "expires_in_days"],
      [{ expires_in_days: 3651 }, "expires_in_days"],
      [{ permissions: ["x".repeat(201)] }, "permissions.0"],
    ];
    for (const [body, field] of cases) {
      const res = await call("POST", "/api/keys", {
        token: ADMIN,
        body: { name, user: { id: "lead", name: "Lead" }, ...body },
      });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(Object.keys(res.body.error.details)).toContain(field);
    }
    const stored = await env.DB.prepare("SELECT COUNT(*) AS n FROM api_keys WHERE name = ?")
      .bind(name)
      .first<{ n: number }>();
    expect(stored?.n).toBe(0);
  });
});

describe("GET /api/keys", () => {
  it("lists keys with their metadata and never the key or its hash", async () => {
    const created = await createKey({ permissions: ["bus.publish"], expires_in_days: 7 });
    const listed = await listedKey(created.id);
    expect(listed).toEqual({
      id: created.id,
      name: "Team Blue organiser",
      user: { id: "lead", name: "Lead" },
      permissions: ["bus.publish"],
      created_at: expect.any(String),
      expires_at: created.expires_at,
      last_used_at: null,
      revoked_at: null,
    });
    const page = await call("GET", "/api/keys?limit=200", { token: ADMIN });
    expect(JSON.stringify(page.body)).not.toContain(created.key);
    expect(JSON.stringify(page.body)).not.toContain(await hashApiKey(created.key));
  });

  it("pages with ?limit= and ?offset=", async () => {
    await createKey();
    await createKey();
    const first = await call("GET", "/api/keys?limit=1", { token: ADMIN });
    expect(first.body.results).toHaveLength(1);
    expect(first.body.next).toBe(1);
    const second = await call("GET", "/api/keys?limit=1&offset=1", { token: ADMIN });
    expect(second.body.results[0].id).not.toBe(first.body.results[0].id);
  });
});

describe("an API key as a credential", () => {
  it("acts as its user with its permissions, as Bearer or Token", async () => {
    const { key } = await createKey({ permissions: ["planning_poker.moderate"] });
    const created = await call("POST", "/api/poker/sessions", { token: key, body: { name: "K" } });
    expect(created.status).toBe(201);
    const viaToken = await call("GET", `/api/poker/sessions/${created.body.id}`, {
      headers: { Authorization: `Token ${key}` },
    });
    expect(viaToken.status).toBe(200);
    const noPermission = (await createKey()).key;
    expect(
      (await call("POST", "/api/poker/sessions", { token: noPermission, body: { name: "K" } }))
        .status,
    ).toBe(403);
  });

  it("opens a WebSocket with ?token=", async () => {
    const { key } = await createKey({ permissions: ["planning_poker.moderate"] });
    const session = await call("POST", "/api/poker/sessions", { token: key, body: { name: "W" } });
    const ws = await connect(`/ws/poker/${session.body.id}`, key);
    const participants = await ws.event("participants_changed");
    expect(participants.data.participants.map((p: any) => p.id)).toContain("lead");
    ws.close();
  });

  it("is refused once revoked, at once, and stays listed with revoked_at", async () => {
    const created = await createKey({ permissions: ["planning_poker.moderate"] });
    const session = await call("POST", "/api/poker/sessions", {
      token: created.key,
      body: { name: "R" },
    });
    expect((await call("DELETE", `/api/keys/${created.id}`, { token: ADMIN })).status).toBe(204);
    expect(
      (await call("GET", `/api/poker/sessions/${session.body.id}`, { token: created.key })).status,
    ).toBe(401);
    const refused = await tryConnect(`/ws/poker/${session.body.id}`, created.key);
    expect((refused as Response).status).toBe(401);
    expect((await listedKey(created.id)).revoked_at).toEqual(expect.any(String));
    expect((await call("DELETE", "/api/keys/no-such-key", { token: ADMIN })).status).toBe(404);
  });

  it("is refused once expired", async () => {
    const advance = useClock();
    const { key } = await createKey({ expires_in_days: 1 });
    expect((await call("GET", "/api/webhooks", { token: key })).status).toBe(200);
    advance(DAY_MS + 1000);
    expect((await call("GET", "/api/webhooks", { token: key })).status).toBe(401);
  });

  it("records last_used_at at most once a minute", async () => {
    const advance = useClock();
    const created = await createKey();
    expect((await keyRowById(created.id)).last_used_at).toBeNull();
    await call("GET", "/api/webhooks", { token: created.key });
    const firstUse = (await keyRowById(created.id)).last_used_at;
    expect(firstUse).toBe(Date.now());
    advance(30_000);
    await call("GET", "/api/webhooks", { token: created.key });
    expect((await keyRowById(created.id)).last_used_at).toBe(firstUse);
    advance(31_000);
    await call("GET", "/api/webhooks", { token: created.key });
    expect((await keyRowById(created.id)).last_used_at).toBe(Date.now());
    expect((await listedKey(created.id)).last_used_at).toBe(new Date(Date.now()).toISOString());
  });
});

describe("POST /api/tokens with an API key", () => {
  it("mints a token for the key's user with the key's permissions by default", async () => {
    const { key } = await createKey({ permissions: ["planning_poker.moderate", "bus.publish"] });
    const minted = await mintWith(key, { ttl_seconds: 600 });
    expect(minted.status).toBe(201);
    const session = await call("POST", "/api/poker/sessions", {
      token: minted.body.token,
      body: { name: "Minted" },
    });
    expect(session.status).toBe(201);
    const ws = await connect(`/ws/poker/${session.body.id}`, minted.body.token);
    const participants = await ws.event("participants_changed");
    expect(participants.data.participants).toEqual([
      expect.objectContaining({ id: "lead", name: "Lead" }),
    ]);
    ws.close();
    const published = await call("POST", "/api/bus/main/publish", {
      token: minted.body.token,
      body: { channel: "orders.eu", message: { type: "paid" } },
    });
    expect(published.status).toBe(201);
  });

  it("mints for its own user only and with at most its permissions", async () => {
    const { key } = await createKey({ permissions: ["planning_poker.vote"] });
    expect((await mintWith(key, { user: { id: "lead", name: "Lead" } })).status).toBe(201);
    expect((await mintWith(key, { permissions: ["planning_poker.vote"] })).status).toBe(201);
    expect((await mintWith(key, { user: { id: "someone-else", name: "S" } })).status).toBe(403);
    const extra = await mintWith(key, { permissions: ["planning_poker.moderate"] });
    expect(extra.status).toBe(403);
    expect(extra.body.error.details).toEqual({ permissions: ["planning_poker.moderate"] });
  });

  it("refuses client tokens, including those a key minted", async () => {
    const { key } = await createKey({ permissions: ["planning_poker.vote"] });
    const minted = (await mintWith(key)).body.token;
    expect((await mintWith(minted)).status).toBe(403);
    expect((await mintWith(await tokenFor("plain", ["planning_poker.vote"]))).status).toBe(403);
  });

  it("never lets a token outlive its key", async () => {
    const advance = useClock();
    const created = await createKey({ expires_in_days: 1 });
    advance(23 * 3_600_000);
    const minted = await mintWith(created.key, { ttl_seconds: 86_400 });
    expect(minted.status).toBe(201);
    const keyEnd = Date.parse(created.expires_at ?? "");
    expect(Date.parse(minted.body.expires_at)).toBe(Math.floor(keyEnd / 1000) * 1000);
  });

  it("ends the key's tokens when the key is revoked: at once here, within the cache bound elsewhere", async () => {
    const revokedHere = await createKey();
    const tokenHere = (await mintWith(revokedHere.key)).body.token;
    expect((await call("GET", "/api/webhooks", { token: tokenHere })).status).toBe(200);
    await call("DELETE", `/api/keys/${revokedHere.id}`, { token: ADMIN });
    expect((await call("GET", "/api/webhooks", { token: tokenHere })).status).toBe(401);

    // Another isolate revoking the key is a write to D1 this isolate has not seen.
    const advance = useClock();
    const revokedElsewhere = await createKey();
    const token = (await mintWith(revokedElsewhere.key)).body.token;
    expect((await call("GET", "/api/webhooks", { token })).status).toBe(200);
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?")
      .bind(Date.now(), revokedElsewhere.id)
      .run();
    expect((await call("GET", "/api/webhooks", { token })).status).toBe(200);
    advance(KEY_LIVENESS_CACHE_MS + 1);
    expect((await call("GET", "/api/webhooks", { token })).status).toBe(401);
  });
});

/** A key row straight in D1, for states the routes reach only with time. */
async function keyRow(overrides: { expiresAt?: number | null; revokedAt?: number | null } = {}) {
  const id = crypto.randomUUID();
  await insertApiKey(getDb(env.DB), {
    id,
    name: "row",
    userId: "u-row",
    userName: "Row",
    permissions: [],
    keyHash: crypto.randomUUID(),
    createdAt: Date.now(),
    expiresAt: overrides.expiresAt ?? null,
    lastUsedAt: null,
    revokedAt: overrides.revokedAt ?? null,
  });
  return id;
}

describe("liveKeyIds", () => {
  it("keeps the ids of keys that exist, are not revoked and not expired", async () => {
    const live = await keyRow();
    const liveUntilLater = await keyRow({ expiresAt: Date.now() + 60_000 });
    const expired = await keyRow({ expiresAt: Date.now() - 1 });
    const revoked = await keyRow({ revokedAt: Date.now() - 1 });
    const unknown = crypto.randomUUID();
    const result = await liveKeyIds(env, [live, liveUntilLater, expired, revoked, unknown, live]);
    expect([...result].sort()).toEqual([live, liveUntilLater].sort());
  });

  it("answers for more ids than D1 binds parameters in one statement", async () => {
    const live = await keyRow();
    const ids = [...Array.from({ length: 250 }, () => crypto.randomUUID()), live];
    expect([...(await liveKeyIds(env, ids))]).toEqual([live]);
    expect((await liveKeyIds(env, [])).size).toBe(0);
  });
});
