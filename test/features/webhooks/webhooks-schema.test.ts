import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_SCHEMA_BYTES } from "../../../src/features/webhooks/event-schema";
import { insertAppEventType } from "../../../src/features/webhooks/queries";
import { getDb } from "../../../src/platform/db";
import { ADMIN, call, expectErrorShape } from "../../helpers/http";
import { uid } from "../../helpers/webhooks";

const ORDER = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  required: ["id", "amount"],
  additionalProperties: false,
  properties: {
    id: { type: "integer" },
    amount: { type: "number", minimum: 0 },
    currency: { $ref: "#/$defs/currency" },
    kind: { anyOf: [{ type: "string" }, { type: "integer" }] },
    items: {
      type: "array",
      items: { type: "object", properties: { sku: { type: "string", pattern: "^[A-Z]+$" } } },
    },
  },
  $defs: { currency: { enum: ["EUR", "USD"] } },
};

const register = (body: Record<string, unknown>) =>
  call("POST", "/api/webhooks/event-types", { token: ADMIN, body });

const emit = (event_type: string, data: unknown, event_uuid = uid()) =>
  call("POST", "/api/webhook-events", { token: ADMIN, body: { event_type, data, event_uuid } });

async function storedEvent(uuid: string): Promise<boolean> {
  const row = await env.DB.prepare("SELECT uuid FROM webhook_events WHERE uuid = ?")
    .bind(uuid)
    .first();
  return row !== null;
}

async function storedType(name: string): Promise<boolean> {
  const row = await env.DB.prepare("SELECT name FROM webhook_event_types WHERE name = ?")
    .bind(name)
    .first();
  return row !== null;
}

/** Registers `schema` under a fresh name and returns the 400's details (nothing stored). */
async function refused(schema: unknown): Promise<Record<string, string[]>> {
  const name = `order.${uid()}`;
  const res = await register({ event_type: name, schema });
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expectErrorShape(res.body);
  expect(await storedType(name)).toBe(false);
  return res.body.error.details;
}

describe("typed app events: registration", () => {
  it("stores the schema as given and serves it in the list", async () => {
    const name = `order.${uid()}`;
    const res = await register({ event_type: name, description: "An order", schema: ORDER });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ event_type: name, schema: ORDER, builtin: false });
    const list = await call("GET", "/api/webhooks/event-types?limit=200", { token: ADMIN });
    expect(list.body.results.find((t: any) => t.event_type === name).schema).toEqual(ORDER);
  });

  it("answers 200 for the same registration again, 409 naming what differs otherwise", async () => {
    const name = `order.${uid()}`;
    expect((await register({ event_type: name, description: "d", schema: ORDER })).status).toBe(
      201,
    );
    // Key order does not matter: the schemas are compared canonically.
    const reordered = Object.fromEntries(Object.entries(ORDER).reverse());
    const same = await register({ event_type: name, description: "d", schema: reordered });
    expect(same.status).toBe(200);
    expect(same.body.schema).toEqual(ORDER);

    const changed = await register({
      event_type: name,
      description: "d",
      schema: { ...ORDER, required: ["id"] },
    });
    expect(changed.status).toBe(409);
    expectErrorShape(changed.body);
    expect(Object.keys(changed.body.error.details)).toEqual(["schema"]);
    const dropped = await register({ event_type: name, description: "other" });
    expect(dropped.status).toBe(409);
    expect(Object.keys(dropped.body.error.details).sort()).toEqual(["description", "schema"]);
    // The first schema still holds.
    expect((await emit(name, { id: 1 })).status).toBe(400);
  });

  it("refuses a schema the meta-schema refuses, naming the keyword's path", async () => {
    expect(await refused({ type: "nope" })).toHaveProperty(["schema.type"]);
    expect(await refused({ properties: { a: { minLength: -1 } } })).toHaveProperty([
      "schema.properties.a.minLength",
    ]);
    expect(await refused({ properties: { a: { pattern: "(" } } })).toHaveProperty([
      "schema.properties.a.pattern",
    ]);
    expect(await refused({ required: "id" })).toHaveProperty(["schema.required"]);
  });

  it("refuses remote and dangling $refs, dynamic scopes, other dialects and non-object roots", async () => {
    expect(
      await refused({ properties: { a: { $ref: "https://example.com/schema.json" } } }),
    ).toEqual({ "schema.properties.a.$ref": [expect.stringContaining("never to a URL")] });
    expect(await refused({ properties: { a: { $ref: "#/$defs/missing" } } })).toEqual({
      "schema.properties.a.$ref": [expect.stringContaining("not a schema")],
    });
    // A reference that reaches itself without descending would recurse forever on every emit.
    expect(await refused({ $ref: "#" })).toEqual({
      "schema.$ref": ["loops back without descending into the data"],
    });
    expect(await refused({ allOf: [{ $ref: "#/$defs/a" }], $defs: { a: { $ref: "#" } } })).toEqual({
      "schema.$defs.a.$ref": ["loops back without descending into the data"],
    });
    expect(await refused({ $dynamicAnchor: "x", properties: {} })).toHaveProperty([
      "schema.$dynamicAnchor",
    ]);
    expect(await refused({ $defs: { a: { $id: "https://example.com/a" } } })).toHaveProperty([
      "schema.$defs.a.$id",
    ]);
    expect(await refused({ $schema: "http://json-schema.org/draft-07/schema#" })).toHaveProperty([
      "schema.$schema",
    ]);
    expect(await refused({ type: "string" })).toHaveProperty(["schema"]);
  });

  it("bounds the schema's size and depth", async () => {
    const big = { description: "x".repeat(MAX_SCHEMA_BYTES), type: "object" };
    expect((await refused(big)).schema?.[0]).toMatch(/at most 16384 bytes/);
    let deep: Record<string, unknown> = { type: "object" };
    for (let i = 0; i < 40; i++) deep = { properties: { a: deep } };
    expect((await refused(deep)).schema?.[0]).toMatch(/nested at most/);
    // 800 KB of brackets: refused for its depth, before anything walks or serializes it whole.
    const depth = 400_000;
    const res = await call("POST", "/api/webhooks/event-types", {
      token: ADMIN,
      rawBody: `{"event_type":"order.${uid()}","schema":{"a":${"[".repeat(depth)}${"]".repeat(depth)}}}`,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.schema[0]).toMatch(/nested at most/);
  });

  it("treats a schema that is not an object as a field error", async () => {
    const res = await register({ event_type: `order.${uid()}`, schema: [1] });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toHaveProperty("schema");
  });
});

describe("typed app events: emitting", () => {
  it("accepts matching data and refuses the rest with a 400 per failing path, storing nothing", async () => {
    const name = `order.${uid()}`;
    expect((await register({ event_type: name, schema: ORDER })).status).toBe(201);
    const good = { id: 1, amount: 9.5, currency: "EUR", kind: 3, items: [{ sku: "AB" }] };
    expect((await emit(name, good)).status).toBe(202);

    const uuid = uid();
    const bad = await emit(
      name,
      { amount: "9", currency: "GBP", kind: 1.5, items: [{ sku: "AB" }, { sku: "ab" }], extra: 1 },
      uuid,
    );
    expect(bad.status).toBe(400);
    expectErrorShape(bad.body);
    expect(bad.body.error.code).toBe("bad_request");
    expect(bad.body.error.details).toEqual({
      "data.id": ["is required"],
      "data.amount": ["must be number"],
      "data.currency": [expect.stringContaining("EUR")],
      "data.kind": [expect.any(String)],
      "data.items.1.sku": [expect.stringContaining("pattern")],
      "data.extra": ["is not allowed"],
    });
    expect(await storedEvent(uuid)).toBe(false);
  });

  it("checks a type registered through another isolate, read from D1", async () => {
    const name = `order.${uid()}`;
    const schema = JSON.stringify({ type: "object", required: ["id"] });
    expect(await insertAppEventType(getDb(env.DB), name, "elsewhere", schema)).toBe(true);
    const res = await emit(name, {});
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual({ "data.id": ["is required"] });
    expect((await emit(name, { id: "x" })).status).toBe(202);
  });

  it("refuses data nested too deep for a recursive schema as a 400, not a 500", async () => {
    const name = `tree.${uid()}`;
    const tree = { type: "object", properties: { child: { $ref: "#" } } };
    expect((await register({ event_type: name, schema: tree })).status).toBe(201);
    expect((await emit(name, { child: { child: {} } })).status).toBe(202);
    // Built as text: serializing it would exhaust the test's own stack.
    const depth = 50_000;
    const data = `${'{"child":'.repeat(depth)}{}${"}".repeat(depth)}`;
    const res = await call("POST", "/api/webhook-events", {
      token: ADMIN,
      rawBody: `{"event_type":"${name}","data":${data}}`,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual({ data: ["is nested too deeply to check"] });
  });

  it("reads keys named like keywords or built-ins as data ($ref, constructor)", async () => {
    const name = `odd.${uid()}`;
    const schema = {
      type: "object",
      properties: { $ref: { type: "string" }, constructor: { type: "number" } },
    };
    expect((await register({ event_type: name, schema })).status).toBe(201);
    const res = await emit(name, { $ref: 1, constructor: "x" });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual({
      "data.$ref": ["must be string"],
      "data.constructor": ["must be number"],
    });
  });

  it("leaves a type without a schema open to any JSON object", async () => {
    const name = `open.${uid()}`;
    expect((await register({ event_type: name })).status).toBe(201);
    expect((await emit(name, { anything: [1, { b: null }] })).status).toBe(202);
  });
});
