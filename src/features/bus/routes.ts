import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { requireAdmin, requireCaller, requirePermission } from "../../platform/auth/middleware";
import { PERMISSIONS } from "../../platform/auth/permissions";
import { UserId } from "../../platform/auth/user-id";
import { forbidden } from "../../platform/errors";
import {
  bearerSecurity,
  createRouter,
  errorResponses,
  jsonBody,
  jsonResponse,
} from "../../platform/http/router";
import { IdempotencyHeaders, idempotent } from "../../platform/idempotency/middleware";
import { prepareEvent } from "../webhooks";
import { busStub } from "./bus-channel";
import {
  ChannelList,
  ChannelName,
  DbName,
  listenChannels,
  mayListenTo,
  parseChannelQuery,
} from "./channels";
import { pollBus, streamBus } from "./poll";
import { publishManyToBus, publishToBus } from "./publish";
import {
  checkMessage,
  PublishBody,
  Published,
  PublishedBatch,
  publishFieldErrors,
} from "./publish-body";
import { PollAnswer } from "./wire";

const DbParam = z.object({ db: DbName.openapi({ example: "tryton" }) });
const LastMessage = z.string().min(1).max(200);

const PollBody = z
  .object({
    last_message: LastMessage.nullable()
      .default(null)
      .openapi({ description: "The `message_id` last received; null starts from now" }),
    channels: ChannelList.openapi({ example: ["client:6f1c2d"] }),
  })
  .openapi("BusPoll");

/** A client id: it becomes part of a channel name. */
const ClientId = z
  .string()
  .min(1)
  .max(190)
  .regex(/^[^\s,]+$/, "must not contain whitespace or commas");

const NotifyBody = z
  .object({
    title: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[^\r\n]*$/, "must be one line"),
    body: z.string().max(10_000).default(""),
    priority: z.number().int().min(0).max(3).default(1),
    user: UserId.optional(),
    client: ClientId.optional(),
  })
  .refine((n) => n.user !== undefined || n.client !== undefined, {
    message: "user or client is required",
    path: ["user"],
  })
  .openapi("BusNotify");

const ChannelInfo = z
  .object({
    channel: z.string(),
    subscribers: z
      .number()
      .int()
      .openapi({ description: "Sockets, SSE streams and parked long polls on the channel" }),
    last_message_id: z
      .string()
      .nullable()
      .openapi({ description: "The newest kept message; null when none is kept" }),
  })
  .openapi("BusChannelInfo");

const channelInfo = createRoute({
  method: "get",
  path: "/api/bus/{db}/channels/{channel}",
  tags: ["bus"],
  summary: "A channel's listeners and newest message (admin, or a listener of it)",
  description:
    "Anyone who may listen to the channel (contract §4's rules) may read it; others get 403. URL-encode the channel name.",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { params: DbParam.extend({ channel: ChannelName.openapi({ example: "orders.eu" }) }) },
  responses: {
    200: jsonResponse(ChannelInfo, "Live figures, from the namespace's object"),
    ...errorResponses(400, 401, 403),
  },
});

const poll = createRoute({
  method: "post",
  path: "/{db}/bus",
  tags: ["bus"],
  summary: "Long-poll the next message on several channels (Tryton bus)",
  description:
    "Answers at once with the next message after `last_message` on any listed channel, else waits up to `?timeout=` seconds (default 30). `user:*` channels are replaced by the caller's own. An unknown or expired `last_message` answers the oldest kept message with `gap: true`.",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: {
    params: DbParam,
    query: z.object({ timeout: z.coerce.number().int().min(1).max(60).default(30) }),
    body: jsonBody(PollBody),
  },
  responses: {
    200: jsonResponse(PollAnswer, "The next message, or `{channel: null, message: null}`"),
    ...errorResponses(400, 401, 403),
  },
});

const stream = createRoute({
  method: "get",
  path: "/{db}/bus/stream",
  tags: ["bus"],
  summary: "Server-sent events of several channels",
  description:
    "Each event is `id: <message_id>` plus `data: {channel, message}`. Resumes after `Last-Event-ID` (or `?last_message=`); without either it starts from now. EventSource passes the token as `?token=`.",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: {
    params: DbParam,
    query: z.object({
      channels: z.string().optional().openapi({ example: "client:6f1c2d,orders.eu" }),
      last_message: LastMessage.optional(),
      token: z.string().optional(),
    }),
    headers: z.object({ "last-event-id": LastMessage.optional() }),
  },
  responses: {
    200: {
      description: "text/event-stream",
      content: { "text/event-stream": { schema: z.string() } },
    },
    ...errorResponses(400, 401, 403),
  },
});

const publish = createRoute({
  method: "post",
  path: "/api/bus/{db}/publish",
  tags: ["bus"],
  summary: "Publish a message, or a batch of messages, on channels (admin or bus.publish)",
  description:
    "`user:` and `client:` channels are written only by `notify`: publishing to them is a 403, for the admin too. A batch (`messages`, 1–100) is checked whole before anything is stored (a bad item is named `messages.<i>.<field>`), stored in one commit and delivered in its order; it answers `message_ids` in that order. `Idempotency-Key` covers the whole call.",
  security: bearerSecurity,
  middleware: [requirePermission(PERMISSIONS.busPublish), idempotent] as const,
  request: { headers: IdempotencyHeaders, params: DbParam, body: jsonBody(PublishBody) },
  responses: {
    201: jsonResponse(
      z.union([Published, PublishedBatch]),
      "Stored durably; the id each message is delivered with",
    ),
    ...errorResponses(400, 401, 403, 409, 413, 422),
  },
});

const notify = createRoute({
  method: "post",
  path: "/api/bus/{db}/notify",
  tags: ["bus"],
  summary: "Send a notification to a client or a user (admin)",
  description:
    'Publishes `{type: "notification", title, body, priority}` to `client:<client>` when given, else to `user:<user>`, and emits `bus.notification`.',
  security: bearerSecurity,
  middleware: [requireAdmin, idempotent] as const,
  request: { headers: IdempotencyHeaders, params: DbParam, body: jsonBody(NotifyBody) },
  responses: {
    201: jsonResponse(Published.extend({ channel: z.string() }), "Stored durably"),
    ...errorResponses(400, 401, 403, 409, 422),
  },
});

export const busRoutes = createRouter({ fieldErrors: publishFieldErrors })
  .openapi(channelInfo, async (c) => {
    const { db, channel } = c.req.valid("param");
    if (!mayListenTo(c.var.caller, channel)) {
      throw forbidden("You may not listen to this channel", { channel: [channel] });
    }
    return c.json(await busStub(c.env, db).channelInfo(db, channel), 200);
  })
  .openapi(publish, async (c) => {
    const { db } = c.req.valid("param");
    const body = c.req.valid("json");
    if ("messages" in body) {
      body.messages.forEach((item, i) => {
        checkMessage(item, `messages.${i}.`);
      });
      return c.json(await publishManyToBus(c.env, db, body.messages), 201);
    }
    checkMessage(body, "");
    return c.json(await publishToBus(c.env, db, body.channel, body.message), 201);
  })
  .openapi(notify, async (c) => {
    const { db } = c.req.valid("param");
    const { title, body, priority, user, client } = c.req.valid("json");
    const channel = client !== undefined ? `client:${client}` : `user:${user}`;
    // Checked before the write; stored with the message, so it goes out once the message is in.
    const event = await prepareEvent(c.env, "bus.notification", {
      db,
      channel,
      title,
      body,
      priority,
    });
    const message = { type: "notification", title, body, priority };
    const { message_id } = await publishToBus(c.env, db, channel, message, event);
    return c.json({ message_id, channel }, 201);
  })
  .openapi(stream, async (c) => {
    const { db } = c.req.valid("param");
    const query = c.req.valid("query");
    const channels = listenChannels(c.var.caller, parseChannelQuery(query.channels));
    const last_message = c.req.valid("header")["last-event-id"] ?? query.last_message ?? null;
    return (await streamBus(c.env, db, { channels, last_message })) as never;
  })
  .openapi(poll, async (c) => {
    const { db } = c.req.valid("param");
    const { timeout } = c.req.valid("query");
    const body = c.req.valid("json");
    const channels = listenChannels(c.var.caller, body.channels);
    const answer = await pollBus(
      c.env,
      db,
      { channels, last_message: body.last_message, timeout_ms: timeout * 1000 },
      c.req.raw.signal,
      (promise) => c.executionCtx.waitUntil(promise),
    );
    return c.json(answer, 200);
  });
