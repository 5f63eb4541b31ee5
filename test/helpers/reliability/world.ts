import { expect } from "vitest";
import { schemaBody } from "../chat-fixtures";
import { ADMIN } from "../http";
import { api } from "./support";

/** Every permission of the contract, and listening to every bus channel. */
export const ALL_PERMISSIONS = [
  "planning_poker.moderate",
  "planning_poker.vote",
  "bus.publish",
  "bus.listen:*",
  "threads.observe",
  "state.observe",
  // Subscribing to app event types; built-in types stay the admin's whatever the glob.
  "webhooks.subscribe:*",
];

export interface User {
  id: string;
  token: string;
}

/** One of everything the REST routes address, owned (where things have owners) by `owner`. */
export interface World {
  owner: User;
  session: string;
  story: string;
  person: string;
  flow: string;
  step: string;
  hook: string;
  /** The app event type the world's hook is subscribed to. */
  eventType: string;
  thread: string;
  message: string;
  schema: string;
  survey: string;
  item: string;
  db: string;
}

const uid = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

async function created(
  method: string,
  path: string,
  token: string,
  body?: unknown,
  status = 201,
): Promise<any> {
  const res = await api(method, path, { token, body });
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(status);
  return res.body;
}

export async function user(prefix: string, permissions: string[] = []): Promise<User> {
  const id = uid(prefix);
  const minted = await created("POST", "/api/tokens", ADMIN, {
    user: { id, name: `${prefix} name` },
    permissions,
  });
  return { id, token: minted.token };
}

/** Builds the world through the public API, as a client would. */
export async function buildWorld(owner: User): Promise<World> {
  const session = await created("POST", "/api/poker/sessions", ADMIN, { name: "World" });
  const story = await created("POST", `/api/poker/sessions/${session.id}/stories`, ADMIN, {
    story_label: "S1",
  });
  const person = uid("person");
  await created("POST", "/api/persons", ADMIN, { key: person, name: "Owner" });
  const flow = await created("POST", `/api/persons/${person}/flows`, ADMIN, {
    identifier: "onboarding",
    state: "inactive",
  });
  const step = await created("POST", `/api/flows/${flow.id}/steps`, ADMIN, {
    identifier: "welcome",
    state: "inactive",
  });
  // An app event type of this world: only the admin subscribes to built-in types. Nothing in
  // these tests emits it unless a test says so, so no delivery leaves for this made-up host.
  const eventType = uid("world-event");
  await created("POST", "/api/webhooks/event-types", ADMIN, {
    event_type: eventType,
    description: "A world's app event",
  });
  const hook = await created("POST", "/api/webhooks", owner.token, {
    event_type: eventType,
    target_url: `https://hooks.example.com/${uid("h")}`,
    secret_key: "world-secret-key-0123456789",
  });
  const thread = await created("POST", "/api/threads", owner.token, {
    title: "World",
    type: "chat",
    members: [],
  });
  const message = await created("POST", `/api/threads/${thread.id}/messages`, owner.token, {
    text: "hello",
  });
  const schema = await created("POST", "/api/schemas", ADMIN, schemaBody());
  await created("POST", `/api/schemas/${schema.id}/publish`, ADMIN, undefined, 200);
  const survey = await created("POST", "/api/surveys", owner.token, { schema_id: schema.id });
  const item = await created("POST", `/api/surveys/${survey.id}/items`, owner.token, {
    question: 1,
    answers: [11],
  });
  return {
    owner,
    session: session.id,
    story: story.id,
    person,
    flow: flow.id,
    step: step.id,
    hook: hook.id,
    eventType,
    thread: thread.id,
    message: String(message.id),
    schema: schema.id,
    survey: survey.id,
    item: item.id,
    db: uid("db"),
  };
}

/** The real value of a path parameter of `path` in this world. */
export function realParam(world: World, path: string, name: string): string {
  const byName: Record<string, string> = {
    key: world.person,
    mid: world.message,
    user_id: world.owner.id,
    pk: world.item,
    event_uuid: crypto.randomUUID(),
    db: world.db,
    kind: "poker",
  };
  if (name !== "id") return byName[name] ?? "x";
  const byPrefix: [string, string][] = [
    ["/api/poker/", world.session],
    ["/api/flows/", world.flow],
    ["/api/steps/", world.step],
    ["/api/webhooks/", world.hook],
    ["/whisperer/", world.hook],
    ["/api/threads/", world.thread],
    ["/api/schemas/", world.schema],
    ["/api/surveys/", world.survey],
    ["/ws/", world.session],
    ["/api/rooms/", world.session],
  ];
  return byPrefix.find(([prefix]) => path.startsWith(prefix))?.[1] ?? "x";
}

/** The world's real id for a body field that names one (undefined for other fields). */
export function bodyIds(world: World): (field: string) => unknown {
  const ids: Record<string, unknown> = {
    schema_id: world.schema,
    schema: world.schema,
    user_id: world.owner.id,
    story_id: world.story,
    event_type: world.eventType,
  };
  return (field) => (Object.hasOwn(ids, field) ? ids[field] : undefined);
}
