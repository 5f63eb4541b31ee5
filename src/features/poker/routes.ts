import { createRoute } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import type { AppEnv } from "../../platform/app-env";
import {
  requireCaller,
  requirePermission,
  requirePermissionFor,
} from "../../platform/auth/middleware";
import { hasPermission, PERMISSIONS, scopedPermission } from "../../platform/auth/permissions";
import { mintClientToken } from "../../platform/auth/tokens";
import { getDb } from "../../platform/db";
import { ApiError, forbidden, notFound, unauthorized } from "../../platform/errors";
import {
  bearerSecurity,
  createRouter,
  errorResponses,
  jsonBody,
  jsonResponse,
} from "../../platform/http/router";
import { IdempotencyHeaders, idempotent } from "../../platform/idempotency/middleware";
import { sanitizeHtmlFragment } from "../../platform/sanitize";
import { CLOSE_CODES } from "../../protocol/close-codes";
import {
  PokerInvite as Invite,
  PokerInviteInput as InviteInput,
  PokerInvitePreview as InvitePreview,
  PokerInvitePreviewInput as InvitePreviewInput,
  PokerJoined as Joined,
  PokerJoinInput as JoinInput,
  PokerSession as Session,
  PokerSessionInput as SessionInput,
  PokerSessionWithStories as SessionWithStories,
  PokerStory as Story,
  PokerStoryInput as StoryInput,
  PokerSummary as Summary,
} from "../../protocol/poker-rest";
import { unwrap } from "../../realtime/rpc-result";
import { DEFAULT_CHOICES, DEFAULT_END_REDIRECT_URL } from "./deck";
import { createInvite, ROLE_PERMISSIONS, readInvite } from "./invites";
import { pokerRoom } from "./poker-room";
import * as q from "./queries";
import { sessionJson, storyJson } from "./session-view";
import { pokerSummary } from "./summary";
import { summaryCsv } from "./summary-csv";

/** Tokens minted for people who join with an invite live this long (a long workshop day). */
export const JOIN_TOKEN_TTL_SECONDS = 12 * 60 * 60;
// ---- schemas ------------------------------------------------------------------------------
// The bodies and answers are the protocol's poker REST schemas: the SDK's types are inferred
// from the same ones.

const IdParams = z.object({
  id: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: "id", in: "path" } }),
});

const moderate = requirePermission(PERMISSIONS.pokerModerate);
/** Moderating one session: a moderator invite's token holds the permission for it alone. */
const moderateSession = requirePermissionFor(PERMISSIONS.pokerModerate, "id");
const tags = ["poker"];

/**
 * Anyone with a part in the session: the admin, a moderator or voter (also an invite guest of
 * this session). A token without poker permissions, or a guest of another session, is refused.
 */
const inSession = createMiddleware<AppEnv>(async (c, next) => {
  const { caller } = c.var;
  if (caller.kind === "anonymous") throw unauthorized();
  const id = c.req.param("id");
  const allowed = [PERMISSIONS.pokerModerate, PERMISSIONS.pokerVote].some((p) =>
    hasPermission(caller, p, id),
  );
  if (!allowed) throw forbidden("Only the session's moderators and voters may read its summary");
  await next();
});

// ---- routes -------------------------------------------------------------------------------

const createSession = createRoute({
  method: "post",
  path: "/api/poker/sessions",
  tags,
  summary: "Create a planning-poker session (admin or planning_poker.moderate)",
  security: bearerSecurity,
  middleware: [moderate, idempotent] as const,
  request: { headers: IdempotencyHeaders, body: jsonBody(SessionInput) },
  responses: {
    201: jsonResponse(Session, "The new session"),
    ...errorResponses(400, 401, 403, 409, 422),
  },
});

const getSession = createRoute({
  method: "get",
  path: "/api/poker/sessions/{id}",
  tags,
  summary: "A session with its stories in order (any valid token)",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { params: IdParams },
  responses: {
    200: jsonResponse(SessionWithStories, "The session"),
    ...errorResponses(401, 404),
  },
});

const addStory = createRoute({
  method: "post",
  path: "/api/poker/sessions/{id}/stories",
  tags,
  summary: "Add a story at the end (admin or planning_poker.moderate)",
  description:
    'The description is sanitised HTML (an allowlist over the runtime\'s HTML tokenizer): scripts, styles, frames, plugins, SVG/MathML and comments are removed with their content, other unknown tags keep their text; every attribute but `href`/`title` on links and `colspan`/`rowspan` on cells is dropped (so event handlers and styles go); `javascript:`, `data:` and `vbscript:` links lose their `href`, however they are disguised; links get `target="_blank" rel="noopener noreferrer nofollow"`. No text is lost: `a < b` is stored as `a &lt; b`. A description without tags is plain text, escaped, its line breaks kept as `<br>`. Connected clients get a `story_added` event.',
  security: bearerSecurity,
  middleware: [moderateSession, idempotent] as const,
  request: { headers: IdempotencyHeaders, params: IdParams, body: jsonBody(StoryInput) },
  responses: {
    201: jsonResponse(Story, "The new story"),
    ...errorResponses(400, 401, 403, 404, 409, 410, 422),
  },
});

const endSession = createRoute({
  method: "post",
  path: "/api/poker/sessions/{id}/end",
  tags,
  summary: "End a session (admin or planning_poker.moderate)",
  description: `Sends \`poker_session_ended\` to every socket, closes them (code ${CLOSE_CODES.roomEnded.code}) and emits \`poker.session_ended\`. Later connections get 410.`,
  security: bearerSecurity,
  middleware: [moderateSession] as const,
  request: { params: IdParams },
  responses: {
    200: jsonResponse(Session, "The ended session"),
    ...errorResponses(401, 403, 404, 409),
  },
});

const createInviteRoute = createRoute({
  method: "post",
  path: "/api/poker/sessions/{id}/invites",
  tags,
  summary: "Create a signed invite link (admin or planning_poker.moderate)",
  description:
    "A `voter` invite lets anyone with the link join with just a name and vote; a `moderator` invite grants `planning_poker.moderate`. Share moderator links with care.",
  security: bearerSecurity,
  middleware: [moderateSession, idempotent] as const,
  request: { headers: IdempotencyHeaders, params: IdParams, body: jsonBody(InviteInput) },
  responses: {
    201: jsonResponse(Invite, "The invite and the UI link carrying it"),
    ...errorResponses(400, 401, 403, 404, 409, 410, 422),
  },
});

const join = createRoute({
  method: "post",
  path: "/api/poker/sessions/{id}/join",
  tags,
  summary: "Join a session with an invite and a name (no token needed)",
  description: `Mints a client token for a new user id with the invite's permissions, valid ${JOIN_TOKEN_TTL_SECONDS / 3600} h.`,
  request: { params: IdParams, body: jsonBody(JoinInput) },
  responses: {
    201: jsonResponse(Joined, "The token to connect with"),
    ...errorResponses(400, 403, 404, 410),
  },
});

const summary = createRoute({
  method: "get",
  path: "/api/poker/sessions/{id}/summary",
  tags,
  summary: "The session's stories with their votes and stats (admin, its moderators and voters)",
  description:
    "A story's votes are shown as revealed: a story whose votes are revealed shows them, one never revealed (or reset or hidden again since) shows none and a count of 0. Stats are over numeric options only (`mean` rounded to 2 decimals; null when no vote is numeric); `consensus` is true when there is at least one vote and every vote is the same choice. With `Accept: text/csv` the answer is CSV (RFC 4180, `text/csv; charset=utf-8`): header `story_label,story_points,votes,mean,median,consensus`, one row per story, `votes` counting every vote; a cell starting with `=`, `+`, `-` or `@` gets a leading `'` so spreadsheets do not run it as a formula.",
  security: bearerSecurity,
  middleware: [inSession] as const,
  request: { params: IdParams },
  responses: {
    200: {
      description: "The summary (JSON, or CSV with `Accept: text/csv`)",
      content: {
        "application/json": { schema: Summary },
        "text/csv": { schema: z.string() },
      },
    },
    ...errorResponses(401, 403, 404),
  },
});

const invitePreview = createRoute({
  method: "post",
  path: "/api/poker/sessions/{id}/invite-preview",
  tags,
  summary: "What an invite leads to, for the join page (no token needed)",
  description:
    "The signed invite is the credential: a forged, expired or another session's invite → 403, as on join. An ended session answers `ended: true` (not 410), so the page can say so.",
  request: { params: IdParams, body: jsonBody(InvitePreviewInput) },
  responses: {
    200: jsonResponse(InvitePreview, "The session the invite is for and the role it grants"),
    ...errorResponses(400, 403, 404),
  },
});

/** Whether the client prefers CSV to JSON (`Accept: text/csv`). */
function wantsCsv(accept: string | undefined): boolean {
  const q = (type: string) => {
    for (const part of (accept ?? "").toLowerCase().split(",")) {
      const [name, ...params] = part.split(";").map((p) => p.trim());
      if (name !== type) continue;
      const weight = params.find((p) => p.startsWith("q="));
      return weight ? Number(weight.slice(2)) || 0 : 1;
    }
    return 0;
  };
  const csv = q("text/csv");
  return csv > 0 && csv >= q("application/json");
}

async function openSession(env: Env, id: string): Promise<q.PokerSessionRow> {
  const session = await q.getSession(getDb(env.DB), id);
  if (!session) throw notFound("Poker session");
  if (session.endedAt) throw new ApiError("gone", "The poker session has ended");
  return session;
}

export const pokerRoutes = createRouter()
  .openapi(createSession, async (c) => {
    const body = c.req.valid("json");
    const id = crypto.randomUUID();
    const session = await pokerRoom(c.env, id).create(id, {
      name: body.name,
      choices: body.choices ?? [...DEFAULT_CHOICES],
      endRedirectUrl: body.end_redirect_url ?? DEFAULT_END_REDIRECT_URL,
    });
    return c.json(unwrap(session), 201);
  })
  .openapi(getSession, async (c) => {
    const { id } = c.req.valid("param");
    const db = getDb(c.env.DB);
    const session = await q.getSession(db, id);
    if (!session) throw notFound("Poker session");
    const stories = await q.listStories(db, id);
    return c.json({ ...sessionJson(session), stories: stories.map(storyJson) }, 200);
  })
  .openapi(addStory, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const story = unwrap(
      await pokerRoom(c.env, id).addStory(id, {
        storyLabel: body.story_label,
        description: await sanitizeHtmlFragment(body.description),
      }),
    );
    return c.json(story, 201);
  })
  .openapi(endSession, async (c) => {
    const { id } = c.req.valid("param");
    return c.json(unwrap(await pokerRoom(c.env, id).end(id)), 200);
  })
  .openapi(createInviteRoute, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    await openSession(c.env, id);
    const { invite, expiresAt } = await createInvite(
      c.env.TOKEN_SECRET,
      id,
      body.role,
      body.ttl_seconds,
    );
    const url = new URL("/poker/", c.req.url);
    url.searchParams.set("session", id);
    url.searchParams.set("invite", invite);
    return c.json(
      { invite, role: body.role, url: url.toString(), expires_at: expiresAt.toISOString() },
      201,
    );
  })
  .openapi(summary, async (c) => {
    const { id } = c.req.valid("param");
    const db = getDb(c.env.DB);
    const session = await q.getSession(db, id);
    if (!session) throw notFound("Poker session");
    const [stories, votes] = await Promise.all([q.listStories(db, id), q.listSessionVotes(db, id)]);
    const body = pokerSummary(session, stories, votes);
    c.header("Vary", "Accept");
    if (wantsCsv(c.req.header("Accept"))) {
      return c.body(summaryCsv(body), 200, {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": `attachment; filename="poker-summary-${id}.csv"`,
      }) as never;
    }
    return c.json(body, 200);
  })
  .openapi(invitePreview, async (c) => {
    const { id } = c.req.valid("param");
    const { invite } = c.req.valid("json");
    const role = await readInvite(c.env, id, invite);
    if (!role) throw forbidden("The invite is invalid, expired or for another session");
    const session = await q.getSession(getDb(c.env.DB), id);
    if (!session) throw notFound("Poker session");
    return c.json(
      { session_id: id, name: session.name, ended: session.endedAt !== null, role },
      200,
    );
  })
  .openapi(join, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const role = await readInvite(c.env, id, body.invite);
    if (!role) throw forbidden("The invite is invalid, expired or for another session");
    await openSession(c.env, id);
    const user = { id: `guest-${crypto.randomUUID()}`, name: body.name };
    const permissions = ROLE_PERMISSIONS[role];
    const { token, expiresAt } = await mintClientToken(c.env.TOKEN_SECRET, {
      user,
      permissions: permissions.map((p) => scopedPermission(p, id)),
      ttlSeconds: JOIN_TOKEN_TTL_SECONDS,
    });
    return c.json(
      { token, expires_at: expiresAt.toISOString(), user, permissions, session_id: id },
      201,
    );
  });
