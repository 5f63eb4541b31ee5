import {
  createExecutionContext,
  createScheduledController,
  env,
  SELF,
  waitOnExecutionContext,
} from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { KEY_PRUNE_LIMIT } from "../../src/platform/idempotency/retention";
import { fingerprintOf, keyMaterial } from "../../src/platform/idempotency/seal";
import { poll } from "../helpers/bus";
import { schemaBody } from "../helpers/chat-fixtures";
import { ADMIN, call, expectErrorShape, tokenFor } from "../helpers/http";
import { createThread, messageEvent, party, uid } from "../helpers/threads";
import { freshEventType, subscribe, testEnv } from "../helpers/webhooks";
import worker from "../helpers/worker";
import { connect } from "../helpers/ws";

/**
 * `Idempotency-Key` on every creating POST (src/platform/idempotency/middleware.ts): replays, 422s, callers,
 * concurrency, expiry and pruning, encryption at rest. Counts are read from the real local D1
 * (or the bus, by polling); the clock is a fake `Date` where time matters.
 */

const HOUR = 60 * 60_000;

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
  vi.restoreAllMocks();
});

function keyed(path: string, token: string, key: string, body?: unknown) {
  return call("POST", path, { token, body, headers: { "Idempotency-Key": key } });
}

async function count(sql: string, ...params: unknown[]): Promise<number> {
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${sql}`)
    .bind(...params)
    .first<{ n: number }>();
  return row!.n;
}

/** Messages on `channels` after `last` (a message id), read by polling as a client would. */
async function busMessagesAfter(db: string, token: string, channels: string[], last: string) {
  const ids: string[] = [];
  for (;;) {
    const res = await poll(db, token, { last_message: ids.at(-1) ?? last, channels });
    expect(res.status).toBe(200);
    if (!res.body.message) return ids;
    ids.push(res.body.message.message_id);
  }
}

async function publishMarker(db: string, channel: string): Promise<string> {
  const res = await call("POST", `/api/bus/${db}/publish`, {
    token: ADMIN,
    body: { channel, message: { type: "marker" } },
  });
  expect(res.status).toBe(201);
  return res.body.message_id;
}

async function pokerSession(): Promise<string> {
  const res = await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name: "S" } });
  expect(res.status).toBe(201);
  return res.body.id;
}

async function publishedSchema(): Promise<string> {
  const res = await call("POST", "/api/schemas", { token: ADMIN, body: schemaBody() });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect((await call("POST", `/api/schemas/${res.body.id}/publish`, { token: ADMIN })).status).toBe(
    200,
  );
  return res.body.id;
}

async function person(): Promise<string> {
  const key = uid("p");
  const res = await call("POST", "/api/persons", { token: ADMIN, body: { key, name: "P" } });
  expect(res.status).toBe(201);
  return key;
}

async function flow(): Promise<string> {
  const key = await person();
  const res = await call("POST", `/api/persons/${key}/flows`, {
    token: ADMIN,
    body: { identifier: "onboarding", state: "inactive" },
  });
  expect(res.status).toBe(201);
  return res.body.id;
}

interface Target {
  path: string;
  token: string;
  body?: unknown;
  /** Another body for the same route. */
  other: unknown;
  /** How many things the route has created so far. */
  created?: () => Promise<number>;
}

/** Every creating POST, with what it needs and how to count what it creates. */
const ROUTES: [string, number, () => Promise<Target>][] = [
  [
    "POST /api/tokens",
    201,
    async () => ({
      path: "/api/tokens",
      token: ADMIN,
      body: { user: { id: uid("u"), name: "Ada" } },
      other: { user: { id: uid("u"), name: "Bob" } },
    }),
  ],
  [
    "POST /api/keys",
    201,
    async () => ({
      path: "/api/keys",
      token: ADMIN,
      body: { name: "k", user: { id: uid("u"), name: "Ada" }, permissions: [] },
      other: { name: "k2", user: { id: uid("u"), name: "Ada" }, permissions: [] },
      created: () => count("api_keys"),
    }),
  ],
  [
    "POST /api/poker/sessions",
    201,
    async () => ({
      path: "/api/poker/sessions",
      token: ADMIN,
      body: { name: "Sprint" },
      other: { name: "Sprint 2" },
      created: () => count("poker_sessions"),
    }),
  ],
  [
    "POST /api/poker/sessions/:id/stories",
    201,
    async () => {
      const id = await pokerSession();
      return {
        path: `/api/poker/sessions/${id}/stories`,
        token: ADMIN,
        body: { story_label: "A" },
        other: { story_label: "B" },
        created: () => count("poker_stories WHERE session_id = ?", id),
      };
    },
  ],
  [
    "POST /api/poker/sessions/:id/invites",
    201,
    async () => ({
      path: `/api/poker/sessions/${await pokerSession()}/invites`,
      token: ADMIN,
      body: { role: "voter" },
      other: { role: "moderator" },
    }),
  ],
  [
    "POST /api/bus/:db/publish",
    201,
    async () => {
      const db = `db-${uid("i")}`;
      const marker = await publishMarker(db, "orders");
      return {
        path: `/api/bus/${db}/publish`,
        token: ADMIN,
        body: { channel: "orders", message: { type: "created" } },
        other: { channel: "orders", message: { type: "changed" } },
        created: async () => {
          const reader = await tokenFor(uid("r"), ["bus.listen:orders"]);
          return (await busMessagesAfter(db, reader, ["orders"], marker)).length;
        },
      };
    },
  ],
  [
    "POST /api/bus/:db/notify",
    201,
    async () => {
      const db = `db-${uid("i")}`;
      const user = uid("u");
      const marker = await publishMarker(db, "orders");
      const token = await tokenFor(user, ["bus.listen:orders"]);
      return {
        path: `/api/bus/${db}/notify`,
        token: ADMIN,
        body: { title: "Hi", body: "there", user },
        other: { title: "Hi", body: "again", user },
        created: async () => (await busMessagesAfter(db, token, ["orders"], marker)).length,
      };
    },
  ],
  ...["/api/webhooks", "/whisperer/hooks/"].map(
    (path) =>
      [
        `POST ${path}`,
        201,
        async () => {
          const type = await freshEventType();
          return {
            path,
            token: ADMIN,
            body: { event_type: type, target_url: `https://example.com/${uid("a")}` },
            other: { event_type: type, target_url: `https://example.com/${uid("b")}` },
            created: () => count("webhooks WHERE event_type = ?", type),
          };
        },
      ] as [string, number, () => Promise<Target>],
  ),
  [
    "POST /api/webhook-events",
    202,
    async () => {
      const type = await freshEventType();
      return {
        path: "/api/webhook-events",
        token: ADMIN,
        // Keyed emits are in D1 before their 202, so `created` counts them at once (an unkeyed
        // one is recorded by the Queue's consumer, webhooks-intake.test.ts).
        body: { event_type: type, data: { n: 1 }, ordering_key: "k" },
        other: { event_type: type, data: { n: 2 }, ordering_key: "k" },
        created: () => count("webhook_events WHERE event_type = ?", type),
      };
    },
  ],
  [
    "POST /api/webhooks/:id/recover",
    202,
    async () => {
      const hook = await subscribe({
        event_type: await freshEventType(),
        target_url: `https://example.com/${uid("r")}`,
      });
      const ago = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString();
      return {
        path: `/api/webhooks/${hook.id}/recover`,
        token: ADMIN,
        body: { since: ago(1) },
        other: { since: ago(2) },
      };
    },
  ],
  // A retried rotation must not rotate twice: that would drop the secret receivers still hold.
  ...[
    "/api/webhooks/:id/rotate-secret",
    "/whisperer/hooks/:id/rotate-secret",
    "/whisperer/hooks/:id/rotate-secret/",
  ].map(
    (path) =>
      [
        `POST ${path}`,
        200,
        async () => {
          const hook = await subscribe({
            event_type: await freshEventType(),
            target_url: `https://example.com/${uid("s")}`,
          });
          const secret = (n: number) => `whsec_${btoa(`${hook.id}-${n}`)}`;
          return {
            path: path.replace(":id", hook.id),
            token: ADMIN,
            body: { secret_key: secret(1) },
            other: { secret_key: secret(2) },
            created: () =>
              count("webhooks WHERE id = ? AND previous_secret_key IS NOT NULL", hook.id),
          };
        },
      ] as [string, number, () => Promise<Target>],
  ),
  [
    "POST /api/webhooks/event-types",
    201,
    async () => ({
      path: "/api/webhooks/event-types",
      token: ADMIN,
      body: { event_type: `t.${uid("a")}`, description: "d" },
      other: { event_type: `t.${uid("b")}`, description: "d" },
      created: () => count("webhook_event_types"),
    }),
  ],
  [
    "POST /api/threads",
    201,
    async () => {
      const ada = await party("ada");
      return {
        path: "/api/threads",
        token: ada.token,
        body: { title: "T", type: "chat", members: [] },
        other: { title: "T2", type: "chat", members: [] },
        created: () => count("threads"),
      };
    },
  ],
  [
    "POST /api/threads/:id/users",
    201,
    async () => {
      const ada = await party("ada");
      const id = await createThread(ada);
      return {
        path: `/api/threads/${id}/users`,
        token: ada.token,
        body: { user_id: uid("bob") },
        other: { user_id: uid("eve") },
        created: () => count("thread_members WHERE thread_id = ?", id),
      };
    },
  ],
  [
    "POST /api/threads/:id/messages",
    201,
    async () => {
      const ada = await party("ada");
      const id = await createThread(ada);
      return {
        path: `/api/threads/${id}/messages`,
        token: ada.token,
        body: { text: "hello" },
        other: { text: "bye" },
        created: () => count("thread_messages WHERE thread_id = ?", id),
      };
    },
  ],
  [
    "POST /api/schemas",
    201,
    async () => ({
      path: "/api/schemas",
      token: ADMIN,
      body: schemaBody(),
      other: schemaBody(),
      created: () => count("chat_schemas"),
    }),
  ],
  [
    "POST /api/schemas/:id/copy",
    201,
    async () => ({
      path: `/api/schemas/${await publishedSchema()}/copy`,
      token: ADMIN,
      other: { note: "a body it does not read" },
      created: () => count("chat_schemas"),
    }),
  ],
  [
    "POST /api/surveys",
    201,
    async () => {
      const schema = await publishedSchema();
      const user = uid("s");
      return {
        path: "/api/surveys",
        token: await tokenFor(user),
        body: { schema_id: schema },
        other: { schema_id: schema, user_id: user },
        created: () => count("surveys WHERE user_id = ?", user),
      };
    },
  ],
  [
    "POST /api/surveys/:id/items",
    201,
    async () => {
      const token = await tokenFor(uid("s"));
      const survey = await call("POST", "/api/surveys", {
        token,
        body: { schema_id: await publishedSchema() },
      });
      expect(survey.status).toBe(201);
      return {
        path: `/api/surveys/${survey.body.id}/items`,
        token,
        body: { question: 1, answers: [11] },
        other: { question: 1, answers: [12] },
        created: () => count("survey_items WHERE survey_id = ?", survey.body.id),
      };
    },
  ],
  [
    "POST /api/persons",
    201,
    async () => {
      const key = uid("p");
      return {
        path: "/api/persons",
        token: ADMIN,
        body: { key, name: "P" },
        other: { key, name: "Q" },
        created: () => count("persons WHERE key = ?", key),
      };
    },
  ],
  [
    "POST /api/persons/:key/flows",
    201,
    async () => {
      const key = await person();
      return {
        path: `/api/persons/${key}/flows`,
        token: ADMIN,
        body: { identifier: "onboarding", state: "inactive" },
        other: { identifier: "offboarding", state: "inactive" },
        created: () => count("flow_instances WHERE person_key = ?", key),
      };
    },
  ],
  [
    "POST /api/flows/:id/steps",
    201,
    async () => {
      const id = await flow();
      return {
        path: `/api/flows/${id}/steps`,
        token: ADMIN,
        body: { identifier: "welcome", state: "inactive" },
        other: { identifier: "goodbye", state: "inactive" },
        created: () => count("step_instances WHERE flow_id = ?", id),
      };
    },
  ],
];

describe("Idempotency-Key on every creating POST", () => {
  it("documents the header on each of these routes and no other", async () => {
    const doc = (await call("GET", "/openapi.json")).body;
    const keyed: string[] = [];
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        const header = (op.parameters ?? []).find((p: any) => p.name === "idempotency-key");
        if (!header) continue;
        expect(header).toMatchObject({ in: "header", required: false });
        expect(header.schema.description ?? header.description).toMatch(/24 h/);
        expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["409", "422"]));
        keyed.push(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`);
      }
    }
    expect(keyed.sort()).toEqual(ROUTES.map(([name]) => name).sort());
  });

  it.each(ROUTES)(
    "%s: a retry answers the first answer and creates nothing; another body is a 422",
    async (_name, status, setup) => {
      const target = await setup();
      const before = await target.created?.();
      const key = crypto.randomUUID();
      const advance = useClock();
      const first = await keyed(target.path, target.token, key, target.body);
      expect(first.status, JSON.stringify(first.body)).toBe(status);
      expect(first.headers.get("Idempotent-Replayed")).toBeNull();

      // Later: a second run would mint other ids and times.
      advance(5_000);
      const again = await keyed(target.path, target.token, key, target.body);
      expect(again.status).toBe(status);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get("Idempotent-Replayed")).toBe("true");
      expect(again.headers.get("Content-Type")).toBe(first.headers.get("Content-Type"));

      const reused = await keyed(target.path, target.token, key, target.other);
      expect(reused.status).toBe(422);
      expectErrorShape(reused.body);
      expect(reused.body.error.code).toBe("unprocessable");
      expect(reused.body.error.details).toEqual({
        "idempotency-key": ["REUSED_WITH_ANOTHER_BODY"],
      });

      const malformed = await keyed(target.path, target.token, "with space", target.other);
      expect(malformed.status).toBe(400);
      expect(Object.keys(malformed.body.error.details)).toContain("idempotency-key");

      // Counted on the real clock: the bus's long polls time out by it.
      vi.useRealTimers();
      if (before !== undefined) expect(await target.created!()).toBe(before + 1);
    },
  );

  it.each(ROUTES)(
    "%s: two requests with one key at once create once",
    async (_n, status, setup) => {
      const target = await setup();
      const before = await target.created?.();
      const key = crypto.randomUUID();
      const [a, b] = await Promise.all([
        keyed(target.path, target.token, key, target.body),
        keyed(target.path, target.token, key, target.body),
      ]);
      expect([a.status, b.status]).toEqual([status, status]);
      expect(a.body).toEqual(b.body);
      const replays = [a, b].filter((r) => r.headers.get("Idempotent-Replayed") === "true");
      expect(replays.length).toBe(1);
      // Counted on the real clock: the bus's long polls time out by it.
      vi.useRealTimers();
      if (before !== undefined) expect(await target.created!()).toBe(before + 1);
    },
  );
});

describe("Idempotency-Key from a browser", () => {
  it("is allowed by the CORS preflight, and the replay header is readable", async () => {
    const preflight = await SELF.fetch("http://switchboard.test/api/threads", {
      method: "OPTIONS",
      headers: {
        Origin: "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
      },
    });
    expect(preflight.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain(
      "idempotency-key",
    );
    const key = crypto.randomUUID();
    const body = JSON.stringify({ name: "cors" });
    const send = () =>
      SELF.fetch("http://switchboard.test/api/poker/sessions", {
        method: "POST",
        headers: {
          Origin: "https://app.example",
          Authorization: `Bearer ${ADMIN}`,
          "Content-Type": "application/json",
          "Idempotency-Key": key,
        },
        body,
      });
    await (await send()).text();
    const again = await send();
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.headers.get("Access-Control-Expose-Headers")).toContain("Idempotent-Replayed");
  });
});

describe("Idempotency-Key: whose key, which request", () => {
  it("keeps keys per caller: another user, or the admin, with the same key creates its own", async () => {
    const [ada, bob] = [await party("ada"), await party("bob")];
    const key = crypto.randomUUID();
    const body = { title: "Same", type: "chat", members: [] };
    const answers = await Promise.all(
      [ada.token, bob.token, ADMIN].map((t) => keyed("/api/threads", t, key, body)),
    );
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201]);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(3);
  });

  it("shares keys between a user's API key and a token with the same permissions, not with other permissions", async () => {
    const user = { id: uid("lead"), name: "Lead" };
    const permissions = ["planning_poker.moderate"];
    const created = await call("POST", "/api/keys", {
      token: ADMIN,
      body: { name: "organiser", user, permissions },
    });
    const apiKey = created.body.key as string;
    const minted = await call("POST", "/api/tokens", { token: apiKey, body: { permissions } });
    expect(minted.status).toBe(201);
    const wider = await tokenFor(user.id, [...permissions, "planning_poker.vote"]);
    const key = crypto.randomUUID();
    const body = { name: "Planning" };
    const byKey = await keyed("/api/poker/sessions", apiKey, key, body);
    const byToken = await keyed("/api/poker/sessions", minted.body.token, key, body);
    const byWider = await keyed("/api/poker/sessions", wider, key, body);
    expect([byKey.status, byToken.status, byWider.status]).toEqual([201, 201, 201]);
    expect(byToken.body.id).toBe(byKey.body.id);
    expect(byToken.headers.get("Idempotent-Replayed")).toBe("true");
    expect(byWider.body.id).not.toBe(byKey.body.id);
  });

  it("refuses a key reused on another route with 422, creating nothing there", async () => {
    const key = crypto.randomUUID();
    const first = await keyed("/api/poker/sessions", ADMIN, key, { name: "x" });
    expect(first.status).toBe(201);
    const before = await count("chat_schemas");
    const elsewhere = await keyed("/api/schemas", ADMIN, key, schemaBody());
    expect(elsewhere.status).toBe(422);
    expect(elsewhere.body.error.details).toEqual({
      "idempotency-key": ["REUSED_ON_ANOTHER_ROUTE"],
    });
    expect(await count("chat_schemas")).toBe(before);
  });

  it("reads a JSON body by its content: key order and spacing do not make another body", async () => {
    const key = crypto.randomUUID();
    const user = uid("u");
    const first = await call("POST", "/api/persons", {
      token: ADMIN,
      rawBody: `{"key":"${user}","name":"P"}`,
      headers: { "Idempotency-Key": key },
    });
    const again = await call("POST", "/api/persons", {
      token: ADMIN,
      rawBody: `{ "name": "P",\n  "key": "${user}" }`,
      headers: { "Idempotency-Key": key },
    });
    expect([first.status, again.status]).toEqual([201, 201]);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
  });

  it("keeps the answers that report what running the request decided, and frees the key after a refusal", async () => {
    const key = crypto.randomUUID();
    // 409: the person exists. Kept: the same request answers the same 409 afterwards.
    const existing = await person();
    const conflict = await keyed("/api/persons", ADMIN, key, { key: existing, name: "P" });
    expect(conflict.status).toBe(409);
    const replayed = await keyed("/api/persons", ADMIN, key, { key: existing, name: "P" });
    expect(replayed.status).toBe(409);
    expect(replayed.headers.get("Idempotent-Replayed")).toBe("true");

    // 400: the body was refused before anything ran; the corrected body may use the same key.
    const other = crypto.randomUUID();
    const refused = await keyed("/api/persons", ADMIN, other, { key: uid("p") });
    expect(refused.status).toBe(400);
    const fixed = await keyed("/api/persons", ADMIN, other, { key: uid("p"), name: "P" });
    expect(fixed.status).toBe(201);
    expect(fixed.headers.get("Idempotent-Replayed")).toBeNull();
  });

  it("answers 409 when the first request with the key still runs after the wait", async () => {
    const key = crypto.randomUUID();
    const body = { name: "Stuck" };
    // A run that holds the key and never answers (as a live, slow one would), written as the
    // middleware would write it.
    const material = await keyMaterial(env.TOKEN_SECRET, "admin", key);
    await env.DB.prepare(
      `INSERT INTO idempotency_keys (id, request, fingerprint, created_at, lock, locked_at)
       VALUES (?, 'POST /api/poker/sessions', ?, ?, 'other-run', ?)`,
    )
      .bind(
        material.id,
        await fingerprintOf(material, JSON.stringify(body)),
        Date.now(),
        Date.now(),
      )
      .run();
    const before = await count("poker_sessions");
    const res = await keyed("/api/poker/sessions", ADMIN, key, body);
    expect(res.status).toBe(409);
    expectErrorShape(res.body);
    expect(res.body.error.details).toEqual({ "idempotency-key": ["IN_PROGRESS"] });
    expect(res.headers.get("Retry-After")).toBe("1");
    expect(await count("poker_sessions")).toBe(before);
  });
});

describe("Idempotency-Key: bus publish and notify", () => {
  it("a retried publish answers the same message_id; the message is on the bus once", async () => {
    const db = `db-${uid("b")}`;
    const marker = await publishMarker(db, "orders");
    const key = crypto.randomUUID();
    const body = { channel: "orders", message: { type: "created", n: 1 } };
    const first = await keyed(`/api/bus/${db}/publish`, ADMIN, key, body);
    const again = await keyed(`/api/bus/${db}/publish`, ADMIN, key, body);
    expect(again.body.message_id).toBe(first.body.message_id);
    const reader = await tokenFor(uid("r"), ["bus.listen:orders"]);
    expect(await busMessagesAfter(db, reader, ["orders"], marker)).toEqual([first.body.message_id]);
  });

  it("a retried notify answers the same message_id; one message and one bus.notification delivery", async () => {
    const db = `db-${uid("b")}`;
    const user = uid("u");
    const hook = await subscribe({
      event_type: "bus.notification",
      target_url: `https://example.com/${uid("n")}`,
    });
    const marker = await publishMarker(db, "orders");
    const key = crypto.randomUUID();
    const body = { title: "Hi", body: "once", user };
    const first = await keyed(`/api/bus/${db}/notify`, ADMIN, key, body);
    const again = await keyed(`/api/bus/${db}/notify`, ADMIN, key, body);
    expect([first.status, again.status]).toEqual([201, 201]);
    expect(again.body.message_id).toBe(first.body.message_id);
    const token = await tokenFor(user, ["bus.listen:orders"]);
    expect(await busMessagesAfter(db, token, ["orders"], marker)).toEqual([first.body.message_id]);
    expect(await count("webhook_deliveries WHERE webhook_id = ?", hook.id)).toBe(1);
  });
});

describe("Idempotency-Key: encryption at rest", () => {
  it("stores no token, API key, hook secret or idempotency key readable", async () => {
    const keys = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const token = await keyed("/api/tokens", ADMIN, keys[0]!, {
      user: { id: uid("u"), name: "Ada" },
    });
    const keyBody = { name: "k", user: { id: uid("u"), name: "Ada" }, permissions: [] };
    const apiKey = await keyed("/api/keys", ADMIN, keys[1]!, keyBody);
    const hook = await keyed("/api/webhooks", ADMIN, keys[2]!, {
      event_type: await freshEventType(),
      target_url: `https://example.com/${uid("h")}`,
    });
    expect([token.status, apiKey.status, hook.status]).toEqual([201, 201, 201]);
    const secrets = [token.body.token, apiKey.body.key, hook.body.secret_key, ...keys];
    // The secrets' base64 (as a body might be stored) must not be there either.
    const encodings = secrets.flatMap((s: string) => [s, btoa(s), btoa(JSON.stringify(s))]);

    const { results } = await env.DB.prepare("SELECT * FROM idempotency_keys").all();
    expect(results.length).toBeGreaterThanOrEqual(3);
    const dump = JSON.stringify(results);
    for (const secret of encodings) expect(dump).not.toContain(secret);
    // The answers are stored all the same, as ciphertext: a retry gets the key shown again.
    const again = await keyed("/api/keys", ADMIN, keys[1]!, keyBody);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.body.key).toBe(apiKey.body.key);
  });
});

/** Runs the worker's scheduled handler as the cron trigger would, with `runEnv`. */
async function runCron(runEnv: Env = testEnv().env): Promise<void> {
  const ctx = createExecutionContext();
  const controller = createScheduledController({ scheduledTime: Date.now(), cron: "*/5 * * * *" });
  await worker.scheduled(controller, runEnv, ctx);
  await waitOnExecutionContext(ctx);
}

const keysOlderThan = (ms: number) =>
  count("idempotency_keys WHERE created_at < ?", Date.now() - ms);

/** A webhook delivery whose Queue message was lost, its due time 6 minutes past. */
async function overdueDelivery(): Promise<number> {
  const type = await freshEventType();
  await subscribe({ event_type: type, target_url: `https://example.com/${uid("hook")}` });
  vi.spyOn(console, "error").mockImplementation(() => undefined);
  vi.spyOn(console, "warn").mockImplementation(() => undefined);
  const down = async () => {
    throw new Error("queue down");
  };
  const lostQueue = { send: down, sendBatch: down } as unknown as Queue;
  // Emitted through the route with a Queue that is down: recorded in D1, the delivery stays pending.
  const res = await worker.fetch(
    new Request("http://switchboard.test/api/webhook-events", {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ event_type: type, data: { lost: true } }),
    }),
    testEnv({ WEBHOOK_QUEUE: lostQueue }).env,
    createExecutionContext(),
  );
  expect(res.status).toBe(202);
  const { event_uuid: uuid } = (await res.json()) as { event_uuid: string };
  const row = await env.DB.prepare(
    "UPDATE webhook_deliveries SET next_attempt_at = next_attempt_at - ? WHERE event_uuid = ? RETURNING id",
  )
    .bind(6 * 60_000, uuid)
    .first<{ id: number }>();
  return row!.id;
}

describe("Idempotency-Key: 24 h, then pruned by the cron trigger", () => {
  it("replays for 24 h; after that the key is a new request", async () => {
    const advance = useClock();
    const key = crypto.randomUUID();
    const body = schemaBody();
    const first = await keyed("/api/schemas", ADMIN, key, body);
    advance(23 * HOUR);
    const within = await keyed("/api/schemas", ADMIN, key, body);
    expect(within.body.id).toBe(first.body.id);
    advance(HOUR + 60_000);
    const after = await keyed("/api/schemas", ADMIN, key, body);
    expect(after.status).toBe(201);
    expect(after.headers.get("Idempotent-Replayed")).toBeNull();
    expect(after.body.id).not.toBe(first.body.id);
    // The new request holds the key for the next 24 h.
    expect((await keyed("/api/schemas", ADMIN, key, body)).body.id).toBe(after.body.id);
  });

  it("prunes keys older than 24 h and keeps younger ones", async () => {
    const advance = useClock();
    const [old, young] = [crypto.randomUUID(), crypto.randomUUID()];
    await keyed("/api/poker/sessions", ADMIN, old, { name: "old" });
    advance(2 * HOUR);
    const kept = await keyed("/api/poker/sessions", ADMIN, young, { name: "young" });
    advance(22 * HOUR + 60_000);
    expect(await keysOlderThan(24 * HOUR)).toBeGreaterThan(0);

    await runCron();

    expect(await keysOlderThan(24 * HOUR)).toBe(0);
    const again = await keyed("/api/poker/sessions", ADMIN, young, { name: "young" });
    expect(again.body.id).toBe(kept.body.id);
  });

  it("prunes at most 5,000 keys per run, oldest first", async () => {
    const total = KEY_PRUNE_LIMIT + 2;
    const start = Date.now() - 30 * 24 * HOUR;
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO idempotency_keys (id, request, fingerprint, created_at)
       SELECT 'bulk-' || i, 'POST /x', 'f', ? + i * 1000 FROM n`,
    )
      .bind(total, start)
      .run();
    const left = async () =>
      (
        await env.DB.prepare(
          "SELECT id FROM idempotency_keys WHERE id LIKE 'bulk-%' ORDER BY id",
        ).all<{ id: string }>()
      ).results.map((r) => r.id);

    await runCron();
    expect(await left()).toEqual([`bulk-${total - 1}`, `bulk-${total}`]);
    await runCron();
    expect(await left()).toEqual([]);
  });

  it("runs the webhook scan in the same cron run, and prunes when the scan fails", async () => {
    const advance = useClock();
    await keyed("/api/poker/sessions", ADMIN, crypto.randomUUID(), { name: "s" });
    advance(25 * HOUR);
    vi.useRealTimers();
    const delivery = await overdueDelivery();
    const scan = testEnv();
    await runCron(scan.env);
    expect(scan.sent.map((m) => m.body.delivery_id)).toContain(delivery);

    const clock = useClock();
    await keyed("/api/poker/sessions", ADMIN, crypto.randomUUID(), { name: "s" });
    clock(25 * HOUR);
    expect(await keysOlderThan(24 * HOUR)).toBeGreaterThan(0);
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const queueDown = {
      sendBatch: async () => {
        throw new Error("queue down");
      },
    } as unknown as Queue;
    await runCron(testEnv({ WEBHOOK_QUEUE: queueDown }).env);
    expect(await keysOlderThan(24 * HOUR)).toBe(0);
    const lines = errors.mock.calls.map(([line]) => JSON.parse(String(line)));
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "error",
        event: "cron.job_failed",
        message: "Cron: webhook delivery scan failed",
        error: expect.objectContaining({ message: "queue down" }),
      }),
    );
  });
});

// ---- thread posts (moved from test/threads-idempotency.test.ts) ----------------------------

function postKeyed(token: string, threadId: string, key: string, body: Record<string, unknown>) {
  return keyed(`/api/threads/${threadId}/messages`, token, key, body);
}

async function storedTexts(threadId: string, token: string): Promise<string[]> {
  const res = await call("GET", `/api/threads/${threadId}/messages?limit=200`, { token });
  expect(res.status).toBe(200);
  return res.body.results.map((m: { text: string }) => m.text).reverse();
}

async function thread() {
  const ada = await party("ada");
  const bob = await party("bob");
  const id = await createThread(ada, [{ user_id: bob.id }]);
  return { ada, bob, id };
}

describe("Idempotency-Key on thread posts", () => {
  it("stores and broadcasts a retried post once and answers it again with 201", async () => {
    const { ada, bob, id } = await thread();
    const watching = await connect(`/ws/threads/${id}?since=0`, bob.token);
    const key = crypto.randomUUID();
    const first = await postKeyed(ada.token, id, key, { text: "hello" });
    expect(first.status).toBe(201);
    const again = await postKeyed(ada.token, id, key, { text: "hello" });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.text).toBe("hello");

    const later = await postKeyed(ada.token, id, crypto.randomUUID(), { text: "later" });
    const event = await messageEvent(watching, later.body.id);
    const shown = [...watching.frames.filter((f) => typeof f?.seq === "number"), event];
    expect(shown.map((f) => f.data.message.id)).toEqual([first.body.id, later.body.id]);
    watching.close();
    expect(await storedTexts(id, ada.token)).toEqual(["hello", "later"]);
  });

  it("stores one message when the same key arrives twice at once", async () => {
    const { ada, id } = await thread();
    const key = crypto.randomUUID();
    const answers = await Promise.all([
      postKeyed(ada.token, id, key, { text: "twice" }),
      postKeyed(ada.token, id, key, { text: "twice" }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([201, 201]);
    expect(answers[0]?.body.id).toBe(answers[1]?.body.id);
    expect(await storedTexts(id, ada.token)).toEqual(["twice"]);
  });

  it("refuses the key reused with another body with 422, storing nothing", async () => {
    const { ada, id } = await thread();
    const key = crypto.randomUUID();
    expect((await postKeyed(ada.token, id, key, { text: "one" })).status).toBe(201);
    const reused = await postKeyed(ada.token, id, key, { text: "two" });
    expect(reused.status).toBe(422);
    expectErrorShape(reused.body);
    expect(reused.body.error.code).toBe("unprocessable");
    expect(reused.body.error.details).toEqual({
      "idempotency-key": ["REUSED_WITH_ANOTHER_BODY"],
    });
    expect(await storedTexts(id, ada.token)).toEqual(["one"]);
  });

  it("keeps keys per caller: two users with one key post two messages", async () => {
    const { ada, bob, id } = await thread();
    const key = crypto.randomUUID();
    const a = await postKeyed(ada.token, id, key, { text: "same" });
    const b = await postKeyed(bob.token, id, key, { text: "same" });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).not.toBe(b.body.id);
    expect(await storedTexts(id, ada.token)).toEqual(["same", "same"]);
  });

  it("refuses one key on two threads (another path) with 422, storing nothing there", async () => {
    const { ada, id } = await thread();
    const other = await createThread(ada);
    const key = crypto.randomUUID();
    const a = await postKeyed(ada.token, id, key, { text: "here" });
    const b = await postKeyed(ada.token, other, key, { text: "here" });
    expect([a.status, b.status]).toEqual([201, 422]);
    expect(b.body.error.details).toEqual({ "idempotency-key": ["REUSED_ON_ANOTHER_ROUTE"] });
    expect(await storedTexts(other, ada.token)).toEqual([]);
  });

  it("reads the IETF draft's quoted form as the same key", async () => {
    const { ada, id } = await thread();
    const key = crypto.randomUUID();
    const bare = await postKeyed(ada.token, id, key, { text: "quoted" });
    const quoted = await postKeyed(ada.token, id, `"${key}"`, { text: "quoted" });
    expect(quoted.status).toBe(201);
    expect(quoted.body.id).toBe(bare.body.id);
  });

  it("refuses a malformed key with 400 naming the header", async () => {
    const { ada, id } = await thread();
    for (const key of ["x".repeat(256), "with space", '"unterminated']) {
      const res = await postKeyed(ada.token, id, key, { text: "never" });
      expect(res.status, key).toBe(400);
      expectErrorShape(res.body);
      expect(Object.keys(res.body.error.details ?? {})).toContain("idempotency-key");
    }
    expect(await storedTexts(id, ada.token)).toEqual([]);
  });

  it("answers the first answer again after its message was deleted, storing nothing", async () => {
    const { ada, id } = await thread();
    const key = crypto.randomUUID();
    const posted = await postKeyed(ada.token, id, key, { text: "gone" });
    const removed = await call("DELETE", `/api/threads/${id}/messages/${posted.body.id}`, {
      token: ada.token,
    });
    expect(removed.status).toBe(204);
    const again = await postKeyed(ada.token, id, key, { text: "gone" });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(posted.body);
    expect(await count("thread_messages WHERE thread_id = ?", id)).toBe(1);
  });

  it("answers a post cut off before its answer was stored with the message it stored", async () => {
    const { ada, id } = await thread();
    const key = crypto.randomUUID();
    const posted = await postKeyed(ada.token, id, key, { text: "once" });
    // As a run that stored its message (with its record on the key) and died before answering:
    // the answer is gone and its lock went stale.
    const { meta } = await env.DB.prepare(
      `UPDATE idempotency_keys SET status = NULL, content_type = NULL, body = NULL,
         lock = 'dead-run', locked_at = ? WHERE created_ref = ?`,
    )
      .bind(Date.now() - 2 * 60_000, String(posted.body.id))
      .run();
    expect(meta.changes).toBe(1);
    const again = await postKeyed(ada.token, id, key, { text: "once" });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(posted.body.id);
    expect(again.headers.get("Idempotent-Replayed")).toBeNull();
    expect(await storedTexts(id, ada.token)).toEqual(["once"]);
  });
});
