import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { DOCS_PATHS } from "../../src/features/system/routes";
import { ROOM_KINDS } from "../../src/rooms";
import { ADMIN } from "../helpers/http";
import { ACCESS, type AccessRow } from "../helpers/reliability/access-table";
import {
  api,
  expectHttpError,
  expiredToken,
  fetchWorker,
  tamperedToken,
} from "../helpers/reliability/support";
import {
  ALL_PERMISSIONS,
  buildWorld,
  realParam,
  type User,
  user,
  type World,
} from "../helpers/reliability/world";
import { connect, type TestSocket, tryConnect } from "../helpers/ws";

/**
 * Access boundaries, generated from the route list: every HTTP route and every socket kind
 * against {no token, expired, tampered, no permission, another user with every permission,
 * admin}; then the cross-room and cross-user cases the table cannot show.
 */

const ROUTES = createApp(ROOM_KINDS).routes.filter((r) => r.method !== "ALL");
const CALLERS = [
  "none",
  "expired",
  "tampered",
  "revoked",
  "revokedToken",
  "noperm",
  "other",
  "invite",
  "key",
  "admin",
] as const;
type CallerName = (typeof CALLERS)[number];
/** Credentials that are present but no longer (or never) valid: 401 wherever one is read. */
const DEAD: readonly CallerName[] = ["expired", "tampered", "revoked", "revokedToken"];

let owner: User;
let noperm: User;
let other: User;
/** The HTTP table's world (its rows change it), and an untouched one for the other tests. */
let shared: World;
let quiet: World;
let tokens: Record<Exclude<CallerName, "invite">, string | undefined>;
/** Invite tokens are bound to a world's poker session: one per world, minted on first use. */
const invites = new Map<World, Promise<string>>();

/** An API key of a new user holding `permissions`, through the admin's `POST /api/keys`. */
async function apiKey(permissions: string[]): Promise<{ id: string; key: string; user: string }> {
  const userId = `key-${crypto.randomUUID().slice(0, 8)}`;
  const res = await api("POST", "/api/keys", {
    token: ADMIN,
    body: { name: "Access table", user: { id: userId, name: "Key" }, permissions },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id: res.body.id, key: res.body.key, user: userId };
}

/** A guest's token from joining `world`'s session with a moderator invite. */
function inviteToken(world: World): Promise<string> {
  let token = invites.get(world);
  if (!token) {
    token = (async () => {
      const invite = await api("POST", `/api/poker/sessions/${world.session}/invites`, {
        token: ADMIN,
        body: { role: "moderator" },
      });
      expect(invite.status, JSON.stringify(invite.body)).toBe(201);
      const joined = await api("POST", `/api/poker/sessions/${world.session}/join`, {
        body: { invite: invite.body.invite, name: "Guest" },
      });
      expect(joined.status, JSON.stringify(joined.body)).toBe(201);
      return joined.body.token as string;
    })();
    invites.set(world, token);
  }
  return token;
}

function credentialOf(caller: CallerName, world: World): Promise<string | undefined> {
  return caller === "invite" ? inviteToken(world) : Promise.resolve(tokens[caller]);
}

beforeAll(async () => {
  owner = await user("owner", ALL_PERMISSIONS);
  noperm = await user("noperm");
  other = await user("other", ALL_PERMISSIONS);
  shared = await buildWorld(owner);
  quiet = await buildWorld(owner);
  const key = await apiKey(ALL_PERMISSIONS);
  const revoked = await apiKey(ALL_PERMISSIONS);
  const minted = await api("POST", "/api/tokens", { token: revoked.key, body: {} });
  expect(minted.status, JSON.stringify(minted.body)).toBe(201);
  expect((await api("DELETE", `/api/keys/${revoked.id}`, { token: ADMIN })).status).toBe(204);
  tokens = {
    none: undefined,
    expired: await expiredToken(other.id, ALL_PERMISSIONS),
    tampered: tamperedToken(noperm.token, ALL_PERMISSIONS),
    revoked: revoked.key,
    revokedToken: minted.body.token,
    noperm: noperm.token,
    other: other.token,
    key: key.key,
    admin: ADMIN,
  };
});

function expected(row: AccessRow, caller: CallerName): number {
  if (caller === "none") return row.none ?? 401;
  if (DEAD.includes(caller)) return 401;
  if (caller === "invite") return row.invite ?? row.noperm;
  if (caller === "key") return row.key ?? row.other;
  return row[caller as "noperm" | "other" | "admin"];
}

function pathIn(world: World, template: string): string {
  const path = template.replace(/\{(\w+)\}/g, (_m, name: string) =>
    encodeURIComponent(realParam(world, template, name)),
  );
  // A valid long poll must not wait its default 30 s.
  return template === "/{db}/bus" ? `${path}?timeout=1` : path;
}

async function request(route: string, row: AccessRow, world: World, caller: CallerName) {
  const [method, template] = route.split(" ") as [string, string];
  const headers: Record<string, string> = {};
  const token = await credentialOf(caller, world);
  if (token) headers.Authorization = `Bearer ${token}`;
  const body = row.body?.(world);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetchWorker(pathIn(world, template), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.headers.get("Content-Type")?.includes("text/event-stream")) {
    await res.body?.cancel();
    return { status: res.status, text: "" };
  }
  return { status: res.status, text: await res.text() };
}

describe("HTTP access table", () => {
  it("has one row per route of the app, and the OpenAPI document lists the same routes", async () => {
    const inApp = [
      ...new Set(ROUTES.map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`)),
    ];
    const documented = Object.entries<any>((await api("GET", "/openapi.json")).body.paths).flatMap(
      ([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const docs = DOCS_PATHS.map((path) => `GET ${path}`);
    const served = inApp.filter((r) => !docs.includes(r));
    const rows = Object.keys(ACCESS);
    const diff = (a: string[], b: string[]) => a.filter((x) => !b.includes(x)).sort();
    expect({ missing: diff(served, rows), extra: diff(rows, served) }).toEqual({
      missing: [],
      extra: [],
    });
    expect({ missing: diff(documented, rows), extra: diff(rows, documented) }).toEqual({
      missing: [],
      extra: [],
    });
  });

  it.each(Object.entries(ACCESS))("%s", async (route, row) => {
    const wrong: string[] = [];
    for (const caller of CALLERS) {
      // Refused calls change nothing; a call that may end or delete gets a world of its own.
      const succeeds = expected(row, caller) < 300;
      const here = row.fresh && succeeds ? await buildWorld(owner) : shared;
      const { status, text } = await request(route, row, here, caller);
      const want = expected(row, caller);
      if (status !== want) wrong.push(`${caller}: ${status} (want ${want}) ${text.slice(0, 160)}`);
      else if (status >= 400) expectHttpError(status, text, `${route} as ${caller}`);
    }
    expect(wrong, route).toEqual([]);
  });
});

describe("socket access table", () => {
  // The same defaults as the HTTP table: an invite's guest is `noperm` beyond its session, a
  // key is `other`, dead credentials are 401 before the upgrade.
  const SOCKETS: Record<string, { path: (w: World) => string } & AccessRow> = {
    // Any valid token may watch a poker session (as a spectator without poker permissions).
    poker: { path: (w) => `/ws/poker/${w.session}`, noperm: 101, other: 101, admin: 101 },
    // Members only; threads.observe alone is not enough without observing this thread.
    threads: { path: (w) => `/ws/threads/${w.thread}`, noperm: 403, other: 403, admin: 101 },
    // Other channels than one's own need a bus.listen:<glob> permission.
    bus: { path: (w) => `/ws/bus/${w.db}?channels=orders.eu`, noperm: 403, other: 101, admin: 101 },
    // The person themself, or state.observe.
    persons: { path: (w) => `/ws/persons/${w.person}`, noperm: 403, other: 101, admin: 101 },
    // The test room's private rooms need `test.enter`.
    test: {
      path: () => `/ws/test/private-${crypto.randomUUID()}`,
      noperm: 403,
      other: 403,
      admin: 101,
    },
  };

  it("lists every room kind", () => {
    expect(Object.keys(SOCKETS).sort()).toEqual([...Object.keys(ROOM_KINDS), "test"].sort());
  });

  it.each(Object.entries(SOCKETS))("/ws/%s", async (_kind, row) => {
    const wrong: string[] = [];
    for (const caller of CALLERS) {
      const want = expected(row, caller);
      const res = await tryConnect(row.path(quiet), await credentialOf(caller, quiet));
      const status = res instanceof Response ? res.status : 101;
      if (res instanceof Response) expectHttpError(res.status, await res.text(), `${caller}`);
      else res.close();
      if (status !== want) wrong.push(`${caller}: ${status} (want ${want})`);
    }
    expect(wrong).toEqual([]);
  });

  it("lets the person themself in, but not into another person's room", async () => {
    const themself = await api("POST", "/api/tokens", {
      token: ADMIN,
      body: { user: { id: quiet.person, name: "Person" } },
    });
    (await connect(`/ws/persons/${quiet.person}`, themself.body.token)).close();
    const res = await tryConnect(`/ws/persons/${quiet.person}`, noperm.token);
    expect((res as Response).status).toBe(403);
  });
});

describe("across rooms and users", () => {
  it("keeps a thread member out of another thread, and observers need threads.observe", async () => {
    const elsewhere = await buildWorld(await user("owner2", ALL_PERMISSIONS));
    expect(
      ((await tryConnect(`/ws/threads/${elsewhere.thread}`, owner.token)) as Response).status,
    ).toBe(403);
    // Without the permission, subscribing as an observer is refused and the socket stays shut.
    const refused = await api("POST", `/api/threads/${elsewhere.thread}/ws-subscribe`, {
      token: noperm.token,
    });
    expect(refused.status).toBe(403);
    expect(
      ((await tryConnect(`/ws/threads/${elsewhere.thread}`, noperm.token)) as Response).status,
    ).toBe(403);
    // With it, the observer may connect to that one thread only.
    const observe = await api("POST", `/api/threads/${elsewhere.thread}/ws-subscribe`, {
      token: other.token,
    });
    expect(observe.status).toBe(204);
    (await connect(`/ws/threads/${elsewhere.thread}`, other.token)).close();
    expect(
      ((await tryConnect(`/ws/threads/${quiet.thread}`, other.token)) as Response).status,
    ).toBe(403);
  });

  it("refuses a story of another poker session", async () => {
    const a = await buildWorld(owner);
    const b = await buildWorld(owner);
    const ws = await connect(`/ws/poker/${a.session}`, other.token);
    const reply = await ws.request("next_story_requested", { story_id: b.story });
    expect(reply.status).toBe(404);
    const session = await api("GET", `/api/poker/sessions/${a.session}`, { token: ADMIN });
    expect(session.body.active_story_id).toBeNull();
    ws.close();
  });

  it("keeps one person's socket to its person: another key is 404, their changes never arrive", async () => {
    const mine = await buildWorld(owner);
    const theirs = await buildWorld(other);
    const ws = await connect(`/ws/persons/${mine.person}`, other.token);
    const foreign = await ws.request("subscribe_state_change", {
      person_key: theirs.person,
      entity: "flow",
    });
    expect(foreign.status).toBe(404);
    expect(
      (await ws.request("subscribe_state_change", { person_key: mine.person, entity: "flow" }))
        .status,
    ).toBe(200);
    await api("PATCH", `/api/flows/${theirs.flow}`, { token: ADMIN, body: { state: "active" } });
    await ws.nothing((f) => f?.event === "state_change");
    ws.close();
  });

  it("never lists, changes or deletes another user's webhooks", async () => {
    const list = await api("GET", "/api/webhooks?limit=200", { token: other.token });
    expect(list.body.results.map((h: any) => h.id)).not.toContain(quiet.hook);
    expect(
      (await api("DELETE", `/api/webhooks/${quiet.hook}`, { token: other.token })).status,
    ).toBe(404);
    expect(
      (await api("DELETE", `/whisperer/hooks/${quiet.hook}`, { token: noperm.token })).status,
    ).toBe(404);
    const still = await api("GET", `/api/webhooks/${quiet.hook}`, { token: owner.token });
    expect(still.status).toBe(200);
    expect(still.body.is_active).toBe(true);
  });

  it("never delivers another user's bus channel: user:* channels are always the caller's own", async () => {
    const db = quiet.db;
    const poll = api("POST", `/${db}/bus?timeout=2`, {
      token: noperm.token,
      body: { last_message: null, channels: [`user:${owner.id}`] },
    });
    await new Promise((r) => setTimeout(r, 300));
    await api("POST", `/api/bus/${db}/notify`, {
      token: ADMIN,
      body: { title: "private", user: owner.id },
    });
    expect((await poll).body).toEqual({ channel: null, message: null });
    const ws: TestSocket = await connect(`/ws/bus/${db}?channels=user:${owner.id}`, noperm.token);
    await api("POST", `/api/bus/${db}/notify`, {
      token: ADMIN,
      body: { title: "private", user: owner.id },
    });
    await ws.nothing((f) => f?.event === "message");
    ws.close();
    const stream = await tryConnect(`/ws/bus/${db}?channels=orders.eu`, noperm.token);
    expect((stream as Response).status).toBe(403);
  });

  it("lists only the caller's own surveys", async () => {
    const list = await api("GET", "/api/surveys?limit=200", { token: other.token });
    expect(list.body.results.map((s: any) => s.id)).not.toContain(quiet.survey);
    const asOther = await api("GET", `/api/surveys?user_id=${owner.id}`, { token: other.token });
    expect(asOther.body.results?.map((s: any) => s.id) ?? []).not.toContain(quiet.survey);
  });
});
