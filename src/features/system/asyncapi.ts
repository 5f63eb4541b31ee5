import { z } from "zod";
import { CLOSE_CODES, MAX_FRAME_BYTES, PollAnswer, type RoomKindName } from "../../protocol";
import { FRAMES_PER_SECOND } from "../../realtime/rate-limit";
import { DEFAULT_MAX_SOCKETS_PER_USER } from "../../realtime/socket-credential";
import { CATALOGUE, type Entry } from "./asyncapi-catalogue";
import {
  allFrames,
  echoesRequestId,
  type Frame,
  frameJsonSchemas,
  GENERIC_REPLY_ID,
  KINDS,
  replyIdOf,
} from "./asyncapi-frames";

/**
 * `GET /asyncapi.json`: the AsyncAPI 3.0 document of every room kind's WebSocket and the bus's
 * SSE stream (contract §2). Built from the protocol module (the rooms' own client-event
 * schemas, the server-event schemas checked against the protocol's types, the close-code
 * table) and the typed catalogue of summaries and examples, so it cannot drift from the wire.
 */

type Json = Record<string, unknown>;

/** The bus's server-sent events (contract §4); its answers are the long poll's. */
export const SSE_ADDRESS = "/{db}/bus/stream";
export const SSE_CHANNEL = "bus_stream";

export function wsAddress(kind: RoomKindName): string {
  return `/ws/${kind}/{${CATALOGUE[kind].param.name}}`;
}

/** The protocol's rules in prose: the document's description and the HTML view's sections. */
export const NOTES: readonly { title: string; text: string }[] = [
  {
    title: "Connecting",
    text: "`GET /ws/<kind>/<id>?token=<token>` with `Upgrade: websocket` (or `Authorization: Bearer <token>` where the client can set headers). A missing, invalid or expired token gets 401 before the upgrade, a room that does not exist 404, a user not allowed in it 403, a poker session that ended 410.",
  },
  {
    title: "Frames",
    text: 'JSON text. A client frame is `{"event", "data", "request_id"?}`; the original clients\' key `action` or `message` is accepted in place of `event`. A server event is `{"event", "data"}`, plus `seq` when it belongs to the room\'s ordered stream (`seq` increases by 1 per room).',
  },
  {
    title: "Replies and errors",
    text: 'Every client frame with a `request_id` gets exactly one reply `{"request_id", "status", "errors", "data"?}` (`status` is HTTP-like: 200, or 400 malformed or invalid, 401, 403 missing permission, 404, 409, 413, 429). A failing frame without `request_id` gets the event `error` `{"status", "errors"}`. Bad input never closes the socket and stores nothing.',
  },
  {
    title: "Resume",
    text: "Reconnect with `?since=<seq>` (the last `seq` received) to get the room's ordered events after it, then live ones; rooms keep at least the last 1,000 events or 24 h. When `seq` is older than that, the first frame is `resync` with the full current state and the stream's head `seq`. The bus resumes by `?last_message=<message_id>` instead (SSE: `Last-Event-ID`).",
  },
  {
    title: "Coalesced frames",
    text: 'Connect with `?batch=1` (any kind) to receive the frames produced for the socket in one delivery pass (a group commit of several messages, a batch publish, a resume replay) as ONE text frame holding a JSON array of those frames, in order: `[{"event": …}, {"event": …}]`. A pass with one frame sends the plain object, as without the flag. Each item is handled as if it had come alone; the SDK asks for it and unpacks arrays itself.',
  },
  {
    title: "Token lifetime",
    text: 'A socket lives only as long as its credential. Before it expires the server sends `token_expiring` `{"expires_at"}` (a minute ahead for tokens that live over two minutes, at least 30 s ahead for any that lived over one); the client sends `auth` `{"token"}` with a fresh token of the same user: reply 200 `{"expires_at"}`, or 401 and nothing changes. At expiry, or within 30 s of its API key being revoked, the socket is closed with 4401. Permissions are those of the latest credential.',
  },
  {
    title: "Limits",
    text: `A frame over ${MAX_FRAME_BYTES / 1024} KiB gets 413; over ${FRAMES_PER_SECOND} frames/s sustained per socket, 429. One user holds at most \`MAX_SOCKETS_PER_USER\` (default ${DEFAULT_MAX_SOCKETS_PER_USER}) sockets in one room: the next upgrade gets HTTP 429 (admin sockets are not capped).`,
  },
  {
    title: "Keepalive",
    text: "The text frame `ping` is answered with the text frame `pong` by the runtime, without waking a hibernated room. In poker, a socket silent for 60 s (no frame, no ping) is closed with 4000.",
  },
];

export interface CloseCodeRow {
  code: number;
  name: string;
  reconnect: boolean;
  meaning: string;
}

export const CLOSE_CODE_ROWS: CloseCodeRow[] = Object.entries(CLOSE_CODES).map(
  ([name, { code, reconnect, meaning }]) => ({ code, name, reconnect, meaning }),
);

function description(): string {
  const table = [
    "| code | meaning | a client |",
    "| --- | --- | --- |",
    ...CLOSE_CODE_ROWS.map(
      (c) => `| ${c.code} | ${c.meaning} | ${c.reconnect ? "reconnects" : "stops"} |`,
    ),
  ].join("\n");
  return [
    "The WebSocket protocol of every Switchboard room kind and the bus's server-sent events (contract §2). Each channel is one room kind; its messages are the frames a client sends (`client.*`), the frames the server sends (`server.*`) and the replies.",
    ...NOTES.map((n) => `## ${n.title}\n\n${n.text}`),
    `## Close codes\n\n${table}`,
  ].join("\n\n");
}

const ref = (path: string) => ({ $ref: path });

function schemaOf(query: z.ZodType): Json {
  const { $schema: _, ...schema } = z.toJSONSchema(query, { target: "draft-7", io: "input" });
  return schema;
}

const token = z.string().meta({ description: "The credential, where headers cannot be set" });
const batch = z.literal("1").optional().meta({
  description: "Receive the frames of one delivery pass as one JSON array (see Coalesced frames)",
});
const roomQuery = z.object({
  token: token.optional(),
  batch,
  since: z.number().int().min(0).optional().meta({
    description: "Replays the ordered events after this `seq` (or sends `resync`)",
  }),
});
const busQuery = z.object({
  token: token.optional(),
  batch,
  channels: z
    .string()
    .optional()
    .meta({
      description: "Comma-separated channel names; `user:<own id>` is always added",
      examples: ["client:6f1c2d,orders.eu"],
    }),
  last_message: z.string().max(200).optional().meta({
    description: "The `message_id` last received: catch up after it, then live",
  }),
});

/** Example of a whole frame, as it travels. */
function exampleFrame(frame: Frame, entry: Entry<unknown>): unknown {
  if (frame.direction === "client") {
    return { event: frame.event, data: entry.example, request_id: 1 };
  }
  if (frame.direction === "reply") {
    return { request_id: 1, status: 200, errors: [], data: entry.example };
  }
  return {
    event: frame.event,
    data: entry.example,
    ...(entry.stream ? { seq: 42 } : {}),
    ...(echoesRequestId(frame.kind, frame.event) ? { request_id: 1519211809934 } : {}),
  };
}

export function entryOf(frame: Frame): Entry<unknown> {
  const about = CATALOGUE[frame.kind];
  const section: Record<string, Entry<unknown>> = frame.direction === "client"
    ? about.client
    : frame.direction === "server"
      ? about.server
      : about.replies;
  const entry = Object.hasOwn(section, frame.event) ? section[frame.event] : undefined;
  if (!entry) throw new Error(`No summary or example for ${frame.id}`);
  return entry;
}

const STREAM_NOTE =
  "In the room's ordered stream: sent with `seq` (a copy sent to one socket alone, such as on join, has none) and replayed by `?since=`.";

const correlationId = ref("#/components/correlationIds/request_id");

function messageOf(frame: Frame): Json {
  const entry = entryOf(frame);
  return {
    name: frame.event,
    title: frame.direction === "reply" ? `reply to ${frame.event}` : frame.event,
    summary: entry.summary,
    ...(entry.stream ? { description: STREAM_NOTE } : {}),
    contentType: "application/json",
    payload: ref(`#/components/schemas/${frame.id}`),
    ...(frame.direction === "server" && !echoesRequestId(frame.kind, frame.event)
      ? {}
      : { correlationId }),
    examples: [{ name: frame.event, payload: exampleFrame(frame, entry) }],
  };
}

const TEXT_FRAMES: Record<"ping" | "pong", Json> = {
  ping: {
    name: "ping",
    title: "ping",
    summary: "Keepalive; answered with `pong` without waking a hibernated room",
    contentType: "text/plain",
    payload: { type: "string", const: "ping" },
    examples: [{ name: "ping", payload: "ping" }],
  },
  pong: {
    name: "pong",
    title: "pong",
    summary: "The answer to `ping`",
    contentType: "text/plain",
    payload: { type: "string", const: "pong" },
    examples: [{ name: "pong", payload: "pong" }],
  },
};

const GENERIC_REPLY: Json = {
  name: "reply",
  title: "reply",
  summary:
    "The one reply to a client frame that carried `request_id`: 200, or the status and reasons of its refusal",
  contentType: "application/json",
  payload: ref(`#/components/schemas/${GENERIC_REPLY_ID}`),
  correlationId,
  examples: [
    { name: "done", payload: { request_id: 1, status: 200, errors: [] } },
    {
      name: "refused",
      payload: {
        request_id: 2,
        status: 403,
        errors: ["'vote_submitted' needs the 'planning_poker.vote' permission"],
      },
    },
  ],
};

/** Everything that does not depend on the host the document is fetched from. */
function build(): Json {
  const frames = allFrames();
  const schemas: Json = { ...frameJsonSchemas(frames) };
  const messages: Json = { ...TEXT_FRAMES, [GENERIC_REPLY_ID]: GENERIC_REPLY };
  const channels: Json = {};
  const operations: Json = {};

  for (const kind of KINDS) {
    const about = CATALOGUE[kind];
    const own = frames.filter((f) => f.kind === kind);
    const channelMessages: Json = { ping: ref("#/components/messages/ping") };
    channelMessages.pong = ref("#/components/messages/pong");
    const at = (key: string) => ref(`#/channels/${kind}/messages/${key}`);
    const channel = ref(`#/channels/${kind}`);

    for (const frame of own) {
      messages[frame.id] = messageOf(frame);
      const key =
        frame.direction === "reply"
          ? frame.id.slice(kind.length + 1)
          : `${frame.direction}.${frame.event}`;
      channelMessages[key] = ref(`#/components/messages/${frame.id}`);
    }
    for (const frame of own) {
      if (frame.direction === "client") {
        const replyId = replyIdOf(kind, frame.event);
        const replyKey = replyId === GENERIC_REPLY_ID ? "reply" : replyId.slice(kind.length + 1);
        if (replyId === GENERIC_REPLY_ID)
          channelMessages.reply = ref(`#/components/messages/reply`);
        operations[`${kind}.receive.${frame.event}`] = {
          action: "receive",
          channel,
          summary: entryOf(frame).summary,
          messages: [at(`client.${frame.event}`)],
          reply: { channel, messages: [at(replyKey)] },
        };
      } else if (frame.direction === "server") {
        operations[`${kind}.send.${frame.event}`] = {
          action: "send",
          channel,
          summary: entryOf(frame).summary,
          messages: [at(`server.${frame.event}`)],
        };
      }
    }
    operations[`${kind}.receive.ping`] = {
      action: "receive",
      channel,
      summary: TEXT_FRAMES.ping.summary,
      messages: [at("ping")],
      reply: { channel, messages: [at("pong")] },
    };

    channels[kind] = {
      address: wsAddress(kind),
      title: `/ws/${kind}`,
      summary: about.title,
      servers: [ref("#/servers/websocket")],
      parameters: { [about.param.name]: { description: about.param.description } },
      messages: channelMessages,
      bindings: {
        ws: {
          method: "GET",
          query: schemaOf(kind === "bus" ? busQuery : roomQuery),
          bindingVersion: "0.1.0",
        },
      },
    };
  }

  schemas[`${SSE_CHANNEL}.message`] = { $ref: "#/components/schemas/BusPollAnswer" };
  messages[`${SSE_CHANNEL}.message`] = {
    name: "message",
    title: "SSE message",
    summary:
      "One bus message: the event's `id:` line is its `message_id` and its `data:` line this JSON (the WebSocket `message` event's data)",
    contentType: "application/json",
    payload: ref(`#/components/schemas/${SSE_CHANNEL}.message`),
    examples: [
      { name: "message", payload: PollAnswer.parse(CATALOGUE.bus.server.message.example) },
    ],
  };
  channels[SSE_CHANNEL] = {
    address: SSE_ADDRESS,
    title: "/:db/bus/stream (SSE)",
    summary: "Server-sent events of bus channels, as `EventSource` reads them",
    description:
      "`GET /<db>/bus/stream?channels=a,b` with `Accept: text/event-stream` (token as `?token=` for EventSource). Each event is `id: <message_id>` plus `data: {channel, message}`; a reconnecting EventSource sends `Last-Event-ID` and resumes after it exactly once, in order (`?last_message=` does the same by hand). Without either it starts from now. The stream opens with `retry: 1000` and sends a comment line every 15 s to keep proxies from closing it.",
    servers: [ref("#/servers/http")],
    parameters: { db: { description: CATALOGUE.bus.param.description } },
    messages: { "server.message": ref(`#/components/messages/${SSE_CHANNEL}.message`) },
  };
  operations[`${SSE_CHANNEL}.send.message`] = {
    action: "send",
    channel: ref(`#/channels/${SSE_CHANNEL}`),
    summary: "The next message on one of the listed channels",
    messages: [ref(`#/channels/${SSE_CHANNEL}/messages/server.message`)],
    bindings: {
      http: {
        method: "GET",
        query: schemaOf(busQuery),
        bindingVersion: "0.3.0",
      },
    },
  };

  return {
    asyncapi: "3.0.0",
    info: {
      title: "Switchboard realtime",
      version: "0.1.0",
      description: description(),
    },
    defaultContentType: "application/json",
    channels,
    operations,
    components: {
      schemas,
      messages,
      securitySchemes: {
        token: {
          type: "httpApiKey",
          name: "token",
          in: "query",
          description:
            "A client token, an API key (`sbk_…`) or the admin token as `?token=` (read only on WebSocket upgrades and the SSE stream)",
        },
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "The same credential as `Authorization: Bearer <token>`",
        },
      },
      correlationIds: {
        request_id: {
          description: "A reply carries the `request_id` of the frame it answers",
          location: "$message.payload#/request_id",
        },
      },
    },
    "x-close-codes": CLOSE_CODE_ROWS,
  };
}

let built: Json | undefined;

/** The document for the host it was asked from (its servers are this deployment). */
export function asyncApiDocument(origin: URL): Json {
  built ??= build();
  const secure = origin.protocol === "https:";
  const security = [
    ref("#/components/securitySchemes/token"),
    ref("#/components/securitySchemes/bearer"),
  ];
  return {
    ...built,
    servers: {
      websocket: {
        host: origin.host,
        protocol: secure ? "wss" : "ws",
        description: "Every room's WebSocket",
        security,
      },
      http: {
        host: origin.host,
        protocol: secure ? "https" : "http",
        description: "The bus's server-sent events",
        security,
      },
    },
  };
}
