import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { schemaBody } from "../../helpers/chat-fixtures";
import { ADMIN, call, expectErrorShape, tokenFor } from "../../helpers/http";
import { publishedSchema } from "../../helpers/scripted";
import { createThread, messageEvent, party, post, threadSocket } from "../../helpers/threads";

/** Keys JavaScript objects inherit (or treat specially): to a route, ordinary unknown keys. */
const BUILTIN_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "toLocaleString",
  "valueOf",
  "hasOwnProperty",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "__defineGetter__",
  "__lookupSetter__",
];

const CHAT_TABLES = [
  "threads",
  "thread_members",
  "thread_messages",
  "thread_attachments",
  "chat_schemas",
  "chat_questions",
  "chat_answers",
  "surveys",
  "survey_items",
];

async function rowCounts(): Promise<Record<string, unknown>> {
  const counts: Record<string, unknown> = {};
  for (const table of CHAT_TABLES) {
    counts[table] = (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first())?.n;
  }
  return counts;
}

const MARK = "\u0001KEY";

/**
 * The body's JSON with `key` added where `MARK` stands: built as text, because an object literal
 * or JSON.stringify would not keep `__proto__` as an own key.
 */
function withKey(body: unknown, key: string): string {
  const text = JSON.stringify(body);
  expect(text).toContain(JSON.stringify(MARK));
  return text.replace(JSON.stringify(MARK), JSON.stringify(key));
}

interface Route {
  name: string;
  method: string;
  path: string;
  token: string;
  /** A valid body with `MARK: 1` at the top level, and one with it inside a nested object. */
  top: Record<string, unknown>;
  nested: Record<string, unknown>;
  /** The field the nested key is named under. */
  nestedField: string;
}

async function chatRoutes(): Promise<Route[]> {
  const ada = await party("ada");
  const bob = await party("bob");
  const thread = await createThread(ada, [{ user_id: bob.id }]);
  const message = (await post(ada.token, thread, { text: "hello" })).body.id;
  const draft = await call("POST", "/api/schemas", { token: ADMIN, body: schemaBody() });
  const survey = await publishedSchema({ ...schemaBody(), type: "survey" });
  const owner = `s-${crypto.randomUUID().slice(0, 8)}`;
  const ownerToken = await tokenFor(owner);
  const started = await call("POST", "/api/surveys", {
    token: ownerToken,
    body: { schema_id: survey.id },
  });
  const items = `/api/surveys/${started.body.id}/items`;
  const item = await call("POST", items, {
    token: ownerToken,
    body: { question: 1, answers: [11] },
  });
  expect(item.status, JSON.stringify(item.body)).toBe(201);
  const question = { ...schemaBody().questions[0] };
  const attachment = { type: "image", url: "https://example.com/a.png" };
  return [
    {
      name: "create thread",
      method: "POST",
      path: "/api/threads",
      token: ada.token,
      top: { title: "t", [MARK]: 1 },
      nested: { title: "t", members: [{ user_id: bob.id, [MARK]: 1 }] },
      nestedField: "members",
    },
    {
      name: "edit thread",
      method: "PATCH",
      path: `/api/threads/${thread}`,
      token: ADMIN,
      top: { title: "t", [MARK]: 1 },
      nested: { title: { [MARK]: 1 } },
      nestedField: "title",
    },
    {
      name: "add member",
      method: "POST",
      path: `/api/threads/${thread}/users`,
      token: ADMIN,
      top: { user_id: `new-${crypto.randomUUID().slice(0, 8)}`, [MARK]: 1 },
      nested: { user_id: { [MARK]: 1 } },
      nestedField: "user_id",
    },
    {
      name: "change member",
      method: "PATCH",
      path: `/api/threads/${thread}/users/${bob.id}`,
      token: ADMIN,
      top: { name: "Bob", [MARK]: 1 },
      nested: { name: { [MARK]: 1 } },
      nestedField: "name",
    },
    {
      name: "post message",
      method: "POST",
      path: `/api/threads/${thread}/messages`,
      token: ada.token,
      top: { text: "x", [MARK]: 1 },
      nested: { text: "x", attachments: [{ ...attachment, [MARK]: 1 }] },
      nestedField: "attachments",
    },
    {
      name: "edit message",
      method: "PATCH",
      path: `/api/threads/${thread}/messages/${message}`,
      token: ADMIN,
      top: { text: "x", [MARK]: 1 },
      nested: { text: { [MARK]: 1 } },
      nestedField: "text",
    },
    {
      name: "create schema",
      method: "POST",
      path: "/api/schemas",
      token: ADMIN,
      top: { ...schemaBody(), [MARK]: 1 },
      nested: { ...schemaBody(), questions: [{ ...question, [MARK]: 1 }] },
      nestedField: "questions",
    },
    {
      name: "edit schema",
      method: "PATCH",
      path: `/api/schemas/${draft.body.id}`,
      token: ADMIN,
      top: { type: "survey", [MARK]: 1 },
      nested: { questions: [{ ...question, answers: [{ id: 11, text: "Red", [MARK]: 1 }] }] },
      nestedField: "questions",
    },
    {
      name: "start survey",
      method: "POST",
      path: "/api/surveys",
      token: ADMIN,
      top: { schema_id: survey.id, user_id: owner, [MARK]: 1 },
      nested: { schema_id: { [MARK]: 1 }, user_id: owner },
      nestedField: "schema_id",
    },
    {
      name: "answer a survey question",
      method: "POST",
      path: items,
      token: ownerToken,
      top: { question: 2, [MARK]: 1 },
      nested: { question: 2, text: { [MARK]: 1 } },
      nestedField: "text",
    },
    {
      name: "change a survey item",
      method: "PATCH",
      path: `${items}/${item.body.id}`,
      token: ownerToken,
      top: { answers: [12], [MARK]: 1 },
      nested: { answers: [{ [MARK]: 1 }] },
      nestedField: "answers",
    },
  ];
}

describe("keys named like JavaScript built-ins are ordinary unknown keys in every chat route", () => {
  it("top level and nested: 400 naming the key or its field, never 500, nothing stored", async () => {
    const routes = await chatRoutes();
    const before = await rowCounts();
    for (const route of routes) {
      for (const key of BUILTIN_KEYS) {
        for (const [where, body, field] of [
          ["top", route.top, key],
          ["nested", route.nested, route.nestedField],
        ] as const) {
          const shown = `${route.name}, ${key} ${where}`;
          const res = await call(route.method, route.path, {
            token: route.token,
            rawBody: withKey(body, key),
          });
          expect(res.status, `${shown}: ${JSON.stringify(res.body)}`).toBe(400);
          expectErrorShape(res.body);
          const details = res.body.error.details;
          const named = Object.keys(details).some((k) => k === field || k.startsWith(`${field}.`));
          expect(named, `${shown}: ${JSON.stringify(details)}`).toBe(true);
        }
      }
    }
    expect(await rowCounts()).toEqual(before);
  });

  it("in free-form meta and attachment options they are data; `__proto__` is dropped", async () => {
    const ada = await party("ada");
    const thread = await createThread(ada);
    const ws = await threadSocket(thread, ada.token);
    // Every built-in name as a key, `__proto__` with an object that would become a prototype.
    const free = `{${BUILTIN_KEYS.map((k, i) => `${JSON.stringify(k)}:${k === "__proto__" ? '{"type":"secret"}' : i}`).join(",")}}`;
    const raw = JSON.stringify({
      text: "built-ins",
      meta: MARK,
      attachments: [{ type: "image", url: "https://example.com/a.png", options: MARK }],
    }).replaceAll(JSON.stringify(MARK), free);
    const res = await call("POST", `/api/threads/${thread}/messages`, {
      token: ada.token,
      rawBody: raw,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const kept = Object.fromEntries(
      BUILTIN_KEYS.map((k, i) => [k, i]).filter(([k]) => k !== "__proto__"),
    );
    const listed = await call("GET", `/api/threads/${thread}/messages`, { token: ada.token });
    const event = await messageEvent(ws, res.body.id);
    for (const message of [res.body, listed.body.results[0], event.data.message]) {
      expect(message.meta).toEqual(kept);
      expect(message.attachments_data[0].options).toEqual(kept);
    }
    ws.close();
  });
});
