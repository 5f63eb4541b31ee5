import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { Caller } from "../../platform/auth/caller";
import { requireAdmin, requireCaller } from "../../platform/auth/middleware";
import { hasPermission, PERMISSIONS } from "../../platform/auth/permissions";
import { getDb } from "../../platform/db";
import { conflict, notFound } from "../../platform/errors";
import {
  bearerSecurity,
  createRouter,
  errorResponses,
  jsonBody,
  jsonResponse,
  listOf,
  PaginationQuery,
  page,
} from "../../platform/http/router";
import { IdempotencyHeaders, idempotent } from "../../platform/idempotency/middleware";
import { refusalToCarry } from "./access";
import {
  Attempt,
  CreatedHook,
  CreateEventTypeBody,
  CreateHookBody,
  EmitBody,
  EventType,
  Hook,
  PatchHookBody,
  RotatedSecret,
  RotateSecretBody,
  toAttempt,
  toHook,
} from "./api";
import { hourlyAttemptStats } from "./hourly-stats";
import { acceptEmit, prepareEvent } from "./outbox";
import { PROBE_PING, probeHook } from "./probe";
import {
  deleteWebhook,
  findHookDelivery,
  findWebhook,
  listAttempts,
  listWebhooks,
  reopenDelivery,
} from "./queries";
import { enqueueDeliveries } from "./queue";
import { recoverFailed, recoverSince } from "./recover";
import { describeEventType, listEventTypes, registerAppEventType } from "./registry";
import { rotateSecret } from "./rotation";
import { createHook, patchHook, scopeOf } from "./subscriptions";

const tags = ["webhooks"];
const client = { tags, security: bearerSecurity, middleware: requireCaller };
const admin = { tags, security: bearerSecurity, middleware: requireAdmin };

const IdParams = z.object({ id: z.string().min(1).max(100) });

/**
 * What a caller may read: its own hooks, or every hook for the operators' console
 * (`console.read`, held by the admin too). Changing a hook stays its owner's.
 */
const readScope = (caller: Caller) =>
  hasPermission(caller, PERMISSIONS.consoleRead) ? "all" : scopeOf(caller);

const HourlyStats = z
  .object({
    buckets: z.array(
      z.object({
        start: z.string().openapi({ example: "2026-12-07T14:00:00.000Z" }),
        attempts: z.number().int(),
        succeeded: z.number().int(),
        failed: z.number().int(),
        p50_ms: z.number().int().nullable(),
        p95_ms: z.number().int().nullable(),
      }),
    ),
  })
  .openapi("WebhookHourlyStats");
const RedeliverParams = IdParams.extend({ event_uuid: z.string().min(1).max(100) });

const listTypes = createRoute({
  ...client,
  method: "get",
  path: "/api/webhooks/event-types",
  summary: "Event types one may subscribe to, with the JSON Schema of their data",
  request: { query: PaginationQuery },
  responses: {
    200: jsonResponse(listOf(EventType), "Registered event types: built-in first, then the app's"),
    ...errorResponses(401),
  },
});

const registerType = createRoute({
  ...admin,
  method: "post",
  path: "/api/webhooks/event-types",
  middleware: [requireAdmin, idempotent] as const,
  summary: "Register an app event type (admin)",
  description:
    "With `schema` (JSON Schema draft 2020-12, at most 16 KiB, `$ref` only within itself), every " +
    "emit of the type is checked against it: data that does not match is a 400 whose details " +
    "name each failing path (`data.items.0.sku`). A type never changes: the same name again " +
    "with the same description and schema answers 200 with the type, anything else 409; a new " +
    "shape is a new type name (`package-created.v2`).",
  request: { headers: IdempotencyHeaders, body: jsonBody(CreateEventTypeBody) },
  responses: {
    201: jsonResponse(EventType, "The new event type"),
    200: jsonResponse(EventType, "Already registered with the same description and schema"),
    ...errorResponses(400, 401, 403, 409, 422),
  },
});

const emitEvent = createRoute({
  ...admin,
  method: "post",
  path: "/api/webhook-events",
  middleware: [requireAdmin, idempotent] as const,
  summary: "Emit an event to every active hook of its type (admin)",
  description: "Idempotent on `event_uuid`: the same uuid twice is delivered once.",
  request: { headers: IdempotencyHeaders, body: jsonBody(EmitBody) },
  responses: {
    202: jsonResponse(z.object({ event_uuid: z.string() }), "Recorded; deliveries are queued"),
    ...errorResponses(400, 401, 403, 409, 422),
  },
});

const collectionRoutes = (path: string) => ({
  create: createRoute({
    ...client,
    method: "post",
    path,
    middleware: [requireCaller, idempotent] as const,
    summary: "Subscribe a target URL to an event type",
    description:
      "Needs the admin token, or a `webhooks.subscribe:<glob>` permission whose glob matches " +
      "`event_type` (`*` matches any run of characters). Built-in event types: admin only. " +
      "Without `secret_key` one is generated; it is shown in this answer only. " +
      '`"signature": "ed25519"` generates a key pair instead: the answer holds its `public_key` ' +
      "and no `secret_key` (that one never leaves the server).",
    request: { headers: IdempotencyHeaders, body: jsonBody(CreateHookBody) },
    responses: {
      201: jsonResponse(CreatedHook, "The hook, with its secret this once"),
      ...errorResponses(400, 401, 403, 409, 422),
    },
  }),
  list: createRoute({
    ...client,
    method: "get",
    path,
    summary: "Your hooks (admin: every hook)",
    request: { query: PaginationQuery },
    responses: { 200: jsonResponse(listOf(Hook), "A page of hooks"), ...errorResponses(400, 401) },
  }),
});

const itemRoutes = (path: string) => ({
  get: createRoute({
    ...client,
    method: "get",
    path,
    summary: "One of your hooks",
    request: { params: IdParams },
    responses: { 200: jsonResponse(Hook, "The hook"), ...errorResponses(401, 404) },
  }),
  patch: createRoute({
    ...client,
    method: "patch",
    path,
    summary: "Change one of your hooks; `is_active: true` re-enables a disabled one",
    request: { params: IdParams, body: jsonBody(PatchHookBody) },
    responses: {
      200: jsonResponse(Hook, "The hook"),
      ...errorResponses(400, 401, 403, 404, 409),
    },
  }),
  remove: createRoute({
    ...client,
    method: "delete",
    path,
    summary: "Cancel one of your hooks (its log goes with it)",
    request: { params: IdParams },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 404) },
  }),
});

const deliveries = createRoute({
  ...client,
  method: "get",
  path: "/api/webhooks/{id}/deliveries",
  summary: "The delivery log of one of your hooks: every attempt, newest first",
  request: { params: IdParams, query: PaginationQuery },
  responses: {
    200: jsonResponse(listOf(Attempt), "A page of attempts"),
    ...errorResponses(400, 401, 404),
  },
});

const redeliver = createRoute({
  ...client,
  method: "post",
  path: "/api/webhooks/{id}/deliveries/{event_uuid}/redeliver",
  summary: "Deliver an event to this hook again, with a fresh retry budget",
  description:
    "Only an event that was delivered (or attempted) to this hook; any other `event_uuid` is a 404.",
  request: { params: RedeliverParams },
  responses: {
    202: jsonResponse(z.object({ event_uuid: z.string() }), "Queued"),
    ...errorResponses(401, 404, 409),
  },
});

const RecoverBody = z
  .strictObject({
    since: z.iso
      .datetime({ offset: true })
      .max(64)
      .openapi({ description: "At most 7 days ago, not in the future" }),
  })
  .openapi("WebhookRecover");

const recover = createRoute({
  ...client,
  method: "post",
  path: "/api/webhooks/{id}/recover",
  middleware: [requireCaller, idempotent] as const,
  summary: "Send again every failed delivery of one of your hooks since a moment",
  description:
    "Each delivery that gave up (`failed`) and was made at or after `since` gets a new round of " +
    "retries, as a redelivery does; succeeded and open deliveries are left alone.",
  request: { params: IdParams, headers: IdempotencyHeaders, body: jsonBody(RecoverBody) },
  responses: {
    202: jsonResponse(z.object({ count: z.number().int() }), "How many deliveries were queued"),
    ...errorResponses(400, 401, 404, 409, 422),
  },
});

const ProbeResult = z
  .object({
    succeeded: z.boolean(),
    is_active: z.boolean().openapi({ description: "True when the probe enabled the hook again" }),
    event_uuid: z.string(),
    event_type: z.string(),
    attempt: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "The attempt in the delivery log; null for a ping" }),
    response_status: z.number().int().nullable(),
    duration_ms: z.number().int().nullable(),
    error: z.string().nullable(),
    released: z
      .number()
      .int()
      .openapi({ description: "Deliveries of the backlog queued again, in emit order" }),
  })
  .openapi("WebhookProbeResult");

const probe = createRoute({
  ...client,
  method: "post",
  path: "/api/webhooks/{id}/probe",
  summary: "Try a disabled hook with one event; on success enable it and release its backlog",
  description:
    "Sends the oldest delivery that gave up since the hook began failing (or, when none waits, " +
    `a signed \`${PROBE_PING}\` ping with data \`{"hook_id"}\`, not logged), once and without retries. ` +
    "On a 2xx the hook is enabled again and every other delivery that gave up since it began " +
    "failing is queued again, in emit order; otherwise it stays disabled. An active hook, or a " +
    "probe already running, is a 409. PATCH `is_active: true` enables a hook without sending " +
    "or releasing anything.",
  request: { params: IdParams },
  responses: {
    200: jsonResponse(ProbeResult, "The attempt's result"),
    ...errorResponses(401, 404, 409),
  },
});
const rotateSecretRoute = (path: string) =>
  createRoute({
    ...client,
    method: "post",
    path,
    middleware: [requireCaller, idempotent] as const,
    summary: "Replace one of your hooks' signing secret; the old one keeps signing for a while",
    description:
      "For `ROTATION_OVERLAP_HOURS` (default 24) every delivery carries signatures by the new " +
      "and the old secret, space-separated in `webhook-signature` (new first); " +
      "`X-Whisperer-Signature` uses the new one. Rotating again within that time drops the " +
      "oldest. An hmac hook answers `{secret_key}` (the new one, shown only here; the body may " +
      "set it); an ed25519 hook answers `{public_key}`: its secret is never shown, so it cannot " +
      "be set either.",
    request: {
      params: IdParams,
      headers: IdempotencyHeaders,
      body: { ...jsonBody(RotateSecretBody), required: false },
    },
    responses: {
      200: jsonResponse(RotatedSecret, "The new secret (hmac) or public key (ed25519)"),
      ...errorResponses(400, 401, 404, 409, 422),
    },
  });

const hookStats = createRoute({
  ...client,
  method: "get",
  path: "/api/webhooks/{id}/stats",
  summary:
    "A hook's finished attempts per hour: outcomes and latency (owner, admin or console.read)",
  description:
    "Whole hours, oldest first, the current one included; an hour without attempts has zero counts and null percentiles (nearest rank).",
  request: {
    params: IdParams,
    query: z.object({ hours: z.coerce.number().int().min(1).max(168).default(24) }),
  },
  responses: {
    200: jsonResponse(HourlyStats, "One bucket per hour"),
    ...errorResponses(400, 401, 404),
  },
});

const router = createRouter()
  .openapi(listTypes, async (c) => {
    const { limit, offset } = c.req.valid("query");
    const types = await listEventTypes(c.env);
    return c.json(page(types.slice(offset, offset + limit + 1), limit, offset), 200);
  })
  .openapi(registerType, async (c) => {
    const { event_type, description, schema } = c.req.valid("json");
    const registered = await registerAppEventType(c.env, event_type, description, schema);
    if (registered.outcome === "conflict") {
      throw conflict(`Event type '${event_type}' is already registered`, registered.details);
    }
    const status = registered.outcome === "created" ? 201 : 200;
    return c.json(describeEventType(registered.type), status);
  })
  .openapi(emitEvent, async (c) => {
    const body = c.req.valid("json");
    const event = await prepareEvent(
      c.env,
      body.event_type,
      body.data,
      body.event_uuid,
      body.ordering_key,
    );
    await acceptEmit(c.env, event, c.executionCtx);
    return c.json({ event_uuid: event.uuid }, 202);
  })
  .openapi(deliveries, async (c) => {
    const { id } = c.req.valid("param");
    const { limit, offset } = c.req.valid("query");
    const db = getDb(c.env.DB);
    if (!(await findWebhook(db, readScope(c.var.caller), id))) throw notFound("Webhook");
    const rows = await listAttempts(db, id, limit + 1, offset);
    return c.json(page(rows.map(toAttempt), limit, offset), 200);
  })
  .openapi(hookStats, async (c) => {
    const { id } = c.req.valid("param");
    const { hours } = c.req.valid("query");
    if (!(await findWebhook(getDb(c.env.DB), readScope(c.var.caller), id))) {
      throw notFound("Webhook");
    }
    return c.json({ buckets: await hourlyAttemptStats(c.env.DB, id, hours) }, 200);
  })
  .openapi(redeliver, async (c) => {
    const { id, event_uuid } = c.req.valid("param");
    const db = getDb(c.env.DB);
    const hook = await findWebhook(db, scopeOf(c.var.caller), id);
    if (!hook) throw notFound("Webhook");
    // Only what this hook got (or was attempted) may go to it again: event uuids can be computed.
    const found = await findHookDelivery(db, id, event_uuid);
    if (!found || refusalToCarry(hook, found.event.eventType)) throw notFound("Delivery");
    if (!hook.isActive) throw conflict("The webhook is disabled; re-enable it with PATCH first");
    const deliveryId = await reopenDelivery(db, id, found.event, found.delivery);
    if (deliveryId === null) throw conflict("This event is already being delivered to this hook");
    await enqueueDeliveries(c.env, [deliveryId]);
    return c.json({ event_uuid }, 202);
  })
  .openapi(probe, async (c) => {
    const { id } = c.req.valid("param");
    const hook = await findWebhook(getDb(c.env.DB), scopeOf(c.var.caller), id);
    if (!hook) throw notFound("Webhook");
    return c.json(await probeHook(c.env, hook), 200);
  })
  .openapi(recover, async (c) => {
    const { id } = c.req.valid("param");
    const since = recoverSince(c.req.valid("json").since);
    const hook = await findWebhook(getDb(c.env.DB), scopeOf(c.var.caller), id);
    if (!hook) throw notFound("Webhook");
    if (!hook.isActive) throw conflict("The webhook is disabled; re-enable it with PATCH first");
    return c.json({ count: await recoverFailed(c.env, hook, since) }, 202);
  });

for (const path of [
  "/api/webhooks/{id}/rotate-secret",
  "/whisperer/hooks/{id}/rotate-secret",
  "/whisperer/hooks/{id}/rotate-secret/",
]) {
  router.openapi(rotateSecretRoute(path), async (c) => {
    const { id } = c.req.valid("param");
    const { secret_key } = c.req.valid("json");
    return c.json(await rotateSecret(c.env, c.var.caller, id, secret_key), 200);
  });
}

// The contract's paths and dj-whisperer's aliases (items also with Django's trailing slash).
for (const routes of ["/api/webhooks", "/whisperer/hooks/"].map(collectionRoutes)) {
  router
    .openapi(routes.create, async (c) => {
      const { hook, secret } = await createHook(c.env, c.var.caller, c.req.valid("json"));
      return c.json({ ...toHook(hook), ...(secret === null ? {} : { secret_key: secret }) }, 201);
    })
    .openapi(routes.list, async (c) => {
      const { limit, offset } = c.req.valid("query");
      const rows = await listWebhooks(getDb(c.env.DB), readScope(c.var.caller), limit + 1, offset);
      return c.json(page(rows.map(toHook), limit, offset), 200);
    });
}

for (const routes of ["/api/webhooks/{id}", "/whisperer/hooks/{id}", "/whisperer/hooks/{id}/"].map(
  itemRoutes,
)) {
  router
    .openapi(routes.get, async (c) => {
      const { id } = c.req.valid("param");
      const hook = await findWebhook(getDb(c.env.DB), readScope(c.var.caller), id);
      if (!hook) throw notFound("Webhook");
      return c.json(toHook(hook), 200);
    })
    .openapi(routes.patch, async (c) => {
      const { id } = c.req.valid("param");
      const hook = await patchHook(c.env, c.var.caller, id, c.req.valid("json"));
      return c.json(toHook(hook), 200);
    })
    .openapi(routes.remove, async (c) => {
      const { id } = c.req.valid("param");
      if (!(await deleteWebhook(getDb(c.env.DB), scopeOf(c.var.caller), id))) {
        throw notFound("Webhook");
      }
      return c.body(null, 204);
    });
}

export const webhookRoutes = router;
