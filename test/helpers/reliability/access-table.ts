import type { World } from "./world";

/**
 * The expected answer of every HTTP route for each kind of caller, read as a table.
 *
 * - `none` (no token), `expired` and `tampered` tokens get 401 on every route with a token
 *   (a present but bad token is a 401 even on public routes: it is never treated as anonymous).
 * - `noperm`: a valid client token without permissions that owns nothing.
 * - `other`: a valid client token with EVERY permission that still owns nothing here: what it
 *   may do comes from its permissions, never from someone else's resources.
 * - `admin`: the admin token.
 * - `invite`: the token a guest gets by joining the world's poker session with a moderator
 *   invite (`planning_poker.moderate:<session>`): moderating that one session, nothing else.
 *   Unless a row says otherwise it gets what `noperm` gets.
 * - `key`: an API key (`sbk_…`) holding every permission, owning nothing: unless a row says
 *   otherwise it gets what `other` gets (a key is used like a token).
 * - `revoked`: a revoked API key, and `revokedToken` a client token minted from it: 401 on
 *   every route, like an expired token.
 *
 * Bodies are valid, so a refusal is about access, not input. All rows share one world; `fresh`
 * routes end or delete what they address, so each caller they let through gets its own world.
 */
export interface AccessRow {
  /** Public route: anonymous callers get this instead of 401. */
  none?: number;
  noperm: number;
  other: number;
  admin: number;
  invite?: number;
  key?: number;
  body?: (w: World) => unknown;
  fresh?: true;
}

const story = { story_label: "Access" };
const flow = { identifier: "access", state: "inactive" };
const hook = () => ({
  event_type: "poker.story_points_submitted",
  target_url: `https://hooks.example.com/${crypto.randomUUID()}`,
});

export const ACCESS: Record<string, AccessRow> = {
  "GET /health": { none: 200, noperm: 200, other: 200, admin: 200 },
  "POST /api/tokens": {
    noperm: 403,
    other: 403,
    admin: 201,
    body: () => ({ user: { id: "t", name: "T" } }),
  },
  "POST /api/keys": {
    noperm: 403,
    other: 403,
    admin: 201,
    body: () => ({ name: "Access", user: { id: "k", name: "K" } }),
  },
  "GET /api/keys": { noperm: 403, other: 403, admin: 200 },
  // The world holds no key: the admin is let through to the lookup (404).
  "DELETE /api/keys/{id}": { noperm: 403, other: 403, admin: 404 },
  // Without `Upgrade: websocket` (sockets have their own table below).
  "GET /ws/{kind}/{id}": { noperm: 400, other: 400, admin: 400 },

  // ---- poker: any token reads; moderating needs planning_poker.moderate ----
  "POST /api/poker/sessions": { noperm: 403, other: 201, admin: 201, body: () => ({ name: "A" }) },
  "GET /api/poker/sessions/{id}": { noperm: 200, other: 200, admin: 200 },
  "POST /api/poker/sessions/{id}/stories": {
    noperm: 403,
    other: 201,
    admin: 201,
    invite: 201,
    body: () => story,
  },
  "POST /api/poker/sessions/{id}/end": {
    noperm: 403,
    other: 200,
    admin: 200,
    invite: 200,
    fresh: true,
  },
  "POST /api/poker/sessions/{id}/invites": {
    noperm: 403,
    other: 201,
    admin: 201,
    invite: 201,
    body: () => ({}),
  },
  // The session's moderators and voters (any session's, or its guests) and the admin.
  "GET /api/poker/sessions/{id}/summary": { noperm: 403, other: 200, admin: 200, invite: 200 },
  // Public like join: a forged invite is refused for everyone.
  "POST /api/poker/sessions/{id}/invite-preview": {
    none: 403,
    noperm: 403,
    other: 403,
    admin: 403,
    body: () => ({ invite: "forged" }),
  },
  // Public: the invite is the credential (a forged one is refused for everyone).
  "POST /api/poker/sessions/{id}/join": {
    none: 403,
    noperm: 403,
    other: 403,
    admin: 403,
    body: () => ({ invite: "forged", name: "Eve" }),
  },

  // ---- state: admin only ----
  "POST /api/persons": {
    noperm: 403,
    other: 403,
    admin: 201,
    body: () => ({ key: `p-${crypto.randomUUID()}`, name: "P" }),
  },
  "GET /api/persons/{key}": { noperm: 403, other: 403, admin: 200 },
  "POST /api/persons/{key}/flows": { noperm: 403, other: 403, admin: 201, body: () => flow },
  "GET /api/flows/{id}": { noperm: 403, other: 403, admin: 200 },
  "PATCH /api/flows/{id}": {
    noperm: 403,
    other: 403,
    admin: 200,
    body: () => ({ state: "active" }),
  },
  "POST /api/flows/{id}/steps": { noperm: 403, other: 403, admin: 201, body: () => flow },
  "GET /api/steps/{id}": { noperm: 403, other: 403, admin: 200 },
  "PATCH /api/steps/{id}": {
    noperm: 403,
    other: 403,
    admin: 200,
    body: () => ({ state: "active" }),
  },

  // ---- webhooks: users see and change only their own hooks (others' are 404, not 403) ----
  "GET /api/webhooks/event-types": { noperm: 200, other: 200, admin: 200 },
  "POST /api/webhooks/event-types": {
    noperm: 403,
    other: 403,
    admin: 201,
    body: () => ({ event_type: `t-${crypto.randomUUID().slice(0, 8)}`, description: "d" }),
  },
  "POST /api/webhook-events": {
    noperm: 403,
    other: 403,
    admin: 202,
    // A type no hook of this file subscribes to: nothing is delivered anywhere.
    body: () => ({
      event_type: "poker.session_ended",
      data: { session_id: "s", name: "n", ended_at: "2026-01-01T00:00:00.000Z" },
    }),
  },
  "GET /api/webhooks/{id}/deliveries": { noperm: 404, other: 404, admin: 200 },
  "GET /api/webhooks/{id}/stats": { noperm: 404, other: 404, admin: 200 },
  "POST /api/webhooks/{id}/deliveries/{event_uuid}/redeliver": {
    noperm: 404,
    other: 404,
    admin: 404,
  },
  // The world's hook has no failed delivery: the admin recovers none (202 `{"count": 0}`).
  "POST /api/webhooks/{id}/recover": {
    noperm: 404,
    other: 404,
    admin: 202,
    body: () => ({ since: new Date(Date.now() - 3_600_000).toISOString() }),
  },
  // The world's hook is active: only a disabled one is probed (409). Fresh, so a PATCH row that
  // disabled the shared hook never makes the admin's call ping its target.
  "POST /api/webhooks/{id}/probe": { noperm: 404, other: 404, admin: 409, fresh: true },
  // It changes the hook's secret, which the world's deliveries are verified with: a world each.
  ...Object.fromEntries(
    [
      "/api/webhooks/{id}/rotate-secret",
      "/whisperer/hooks/{id}/rotate-secret",
      "/whisperer/hooks/{id}/rotate-secret/",
    ].map((path) => [
      `POST ${path}`,
      { noperm: 404, other: 404, admin: 200, fresh: true } satisfies AccessRow,
    ]),
  ),
  // A built-in type: only the admin subscribes, whatever `webhooks.subscribe:<glob>` one holds.
  "POST /api/webhooks": { noperm: 403, other: 403, admin: 201, body: hook },
  "GET /api/webhooks": { noperm: 200, other: 200, admin: 200 },
  "POST /whisperer/hooks/": { noperm: 403, other: 403, admin: 201, body: hook },
  "GET /whisperer/hooks/": { noperm: 200, other: 200, admin: 200 },
  "GET /api/webhooks/{id}": { noperm: 404, other: 404, admin: 200 },
  "PATCH /api/webhooks/{id}": {
    noperm: 404,
    other: 404,
    admin: 200,
    body: () => ({ is_active: false }),
  },
  "DELETE /api/webhooks/{id}": { noperm: 404, other: 404, admin: 204, fresh: true },
  "GET /whisperer/hooks/{id}": { noperm: 404, other: 404, admin: 200 },
  "PATCH /whisperer/hooks/{id}": {
    noperm: 404,
    other: 404,
    admin: 200,
    body: () => ({ is_active: false }),
  },
  "DELETE /whisperer/hooks/{id}": { noperm: 404, other: 404, admin: 204, fresh: true },
  "GET /whisperer/hooks/{id}/": { noperm: 404, other: 404, admin: 200 },
  "PATCH /whisperer/hooks/{id}/": {
    noperm: 404,
    other: 404,
    admin: 200,
    body: () => ({ is_active: false }),
  },
  "DELETE /whisperer/hooks/{id}/": { noperm: 404, other: 404, admin: 204, fresh: true },

  // ---- threads: members only (threads.observe does not open a thread's REST) ----
  "POST /api/threads": {
    noperm: 201,
    other: 201,
    admin: 201,
    body: () => ({ title: "T", type: "chat", members: [] }),
  },
  "GET /api/threads": { noperm: 200, other: 200, admin: 200 },
  "GET /api/threads/{id}": { noperm: 403, other: 403, admin: 200 },
  "PATCH /api/threads/{id}": {
    noperm: 403,
    other: 403,
    admin: 200,
    body: () => ({ title: "New" }),
  },
  "DELETE /api/threads/{id}": { noperm: 403, other: 403, admin: 204, fresh: true },
  "POST /api/threads/{id}/ws-subscribe": { noperm: 403, other: 204, admin: 400 },
  "GET /api/threads/{id}/users": { noperm: 403, other: 403, admin: 200 },
  "POST /api/threads/{id}/users": {
    noperm: 403,
    other: 403,
    admin: 201,
    body: () => ({ user_id: `u-${crypto.randomUUID()}`, name: "New" }),
  },
  "GET /api/threads/{id}/users/{user_id}": { noperm: 403, other: 403, admin: 200 },
  "PATCH /api/threads/{id}/users/{user_id}": {
    noperm: 403,
    other: 403,
    admin: 200,
    body: () => ({ notifications: ["ws"] }),
  },
  "DELETE /api/threads/{id}/users/{user_id}": { noperm: 403, other: 403, admin: 204, fresh: true },
  "GET /api/threads/{id}/messages": { noperm: 403, other: 403, admin: 200 },
  "POST /api/threads/{id}/messages": {
    noperm: 403,
    other: 403,
    admin: 201,
    body: () => ({ text: "hi" }),
  },
  "PATCH /api/threads/{id}/messages/{mid}": {
    noperm: 403,
    other: 403,
    admin: 200,
    body: () => ({ text: "edited" }),
  },
  "DELETE /api/threads/{id}/messages/{mid}": { noperm: 403, other: 403, admin: 204, fresh: true },

  // ---- chat schemas: admin writes; clients read the visible types ----
  "POST /api/schemas": {
    noperm: 403,
    other: 403,
    admin: 201,
    body: () => ({ name: `s-${crypto.randomUUID()}`, type: "survey", questions: [] }),
  },
  "GET /api/schemas": { noperm: 200, other: 200, admin: 200 },
  "GET /api/schemas/{id}": { noperm: 200, other: 200, admin: 200 },
  // The world's schema is published: read-only (409); publishing again is a no-op.
  "PATCH /api/schemas/{id}": {
    noperm: 403,
    other: 403,
    admin: 409,
    body: () => ({ type: "survey" }),
  },
  "POST /api/schemas/{id}/publish": { noperm: 403, other: 403, admin: 200 },
  "POST /api/schemas/{id}/copy": { noperm: 403, other: 403, admin: 201 },

  // ---- surveys: the owner's own (others' are 404) ----
  "POST /api/surveys": {
    noperm: 201,
    other: 201,
    admin: 400,
    body: (w) => ({ schema_id: w.schema }),
  },
  "GET /api/surveys": { noperm: 200, other: 200, admin: 200 },
  "GET /api/surveys/{id}": { noperm: 404, other: 404, admin: 200 },
  "GET /api/surveys/{id}/items": { noperm: 404, other: 404, admin: 200 },
  "POST /api/surveys/{id}/items": {
    noperm: 404,
    other: 404,
    admin: 409,
    body: () => ({ question: 1, answers: [12] }),
  },
  "GET /api/surveys/{id}/items/{pk}": { noperm: 404, other: 404, admin: 200 },
  "PATCH /api/surveys/{id}/items/{pk}": {
    noperm: 404,
    other: 404,
    admin: 200,
    body: () => ({ answers: [12] }),
  },
  "DELETE /api/surveys/{id}/items/{pk}": { noperm: 404, other: 404, admin: 204, fresh: true },

  // ---- bus ----
  "POST /api/bus/{db}/publish": {
    noperm: 403,
    other: 201,
    admin: 201,
    body: () => ({ channel: "orders", message: { type: "t" } }),
  },
  "POST /api/bus/{db}/notify": {
    noperm: 403,
    other: 403,
    admin: 201,
    body: () => ({ title: "Hi", user: "u1" }),
  },
  "GET /{db}/bus/stream": { noperm: 200, other: 200, admin: 400 },
  "POST /{db}/bus": { noperm: 200, other: 200, admin: 400, body: () => ({ channels: [] }) },
  // A listener of the channel (`bus.listen:*` in `other`) reads it; `noperm` may not listen to it.
  "GET /api/bus/{db}/channels/{channel}": { noperm: 403, other: 200, admin: 200 },

  // ---- operations: the admin's, or `console.read` (tested in test/features/ops) ----
  "GET /api/stats": { noperm: 403, other: 403, admin: 200 },
  "GET /api/rooms": { noperm: 403, other: 403, admin: 200 },
  // Whoever the room kind admits sees who is present: any token in a poker session.
  "GET /api/rooms/{kind}/{id}/presence": { noperm: 200, other: 200, admin: 200 },
  "GET /api/errors": { noperm: 403, other: 403, admin: 200 },
  "GET /api/console/stream": { noperm: 403, other: 403, admin: 200 },
};
