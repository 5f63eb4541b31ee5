import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { ROOM_KINDS } from "../../../src/rooms";
import { schemaBody } from "../../helpers/chat-fixtures";
import { ADMIN, BASE, call, expectErrorShape, tokenFor } from "../../helpers/http";

async function created(body: unknown) {
  const res = await call("POST", "/api/schemas", { token: ADMIN, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

describe("schemas: create and read", () => {
  it("creates an unpublished version 1 with texts per language and answer ids", async () => {
    const s = await created(schemaBody());
    expect(s).toMatchObject({
      version: 1,
      published: false,
      deprecated: false,
      default_lang: "en",
    });
    expect(s.questions.map((q: any) => q.qid)).toEqual([1, 2, 3, 4]);
    const [q1, , q3] = s.questions;
    expect(q1.texts).toEqual({
      en: "Hello {{user.name}}, pick a colour",
      de: "Hallo {{user.name}}, wähle eine Farbe",
    });
    expect(q1.answers.map((a: any) => [a.id, a.text, a.next_qid])).toEqual([
      [11, "Red", 2],
      [12, "Blue", 3],
    ]);
    expect(q3).toMatchObject({ type: "range", range_from: 0, range_to: 10, show_as_type: "range" });
  });

  it("creating the same name again makes the next version", async () => {
    const name = `n-${crypto.randomUUID()}`;
    await created(schemaBody(name));
    expect((await created(schemaBody(name))).version).toBe(2);
  });

  it("refuses an invalid tree with codes per field and stores nothing", async () => {
    const name = `bad-${crypto.randomUUID()}`;
    const body = schemaBody(name);
    body.questions[1]!.next_qid = 99;
    (body.questions[2] as any).range_from = undefined;
    const res = await call("POST", "/api/schemas", { token: ADMIN, body });
    expect(res.status).toBe(400);
    expectErrorShape(res.body);
    expect(res.body.error.details).toEqual({
      "questions.1.next_qid": ["WRONG_VALUE"],
      "questions.2.range_from": ["REQUIRED"],
    });
    const list = await call("GET", `/api/schemas?name=${name}`, { token: ADMIN });
    expect(list.body.results).toEqual([]);
  });

  it("refuses unknown types, bad input shapes and non-admins", async () => {
    const res = await call("POST", "/api/schemas", {
      token: ADMIN,
      body: schemaBody(undefined, { type: "nope" }),
    });
    expect(res.body.error.details).toEqual({ type: ["NOT_ALLOWED"] });
    const shape = await call("POST", "/api/schemas", {
      token: ADMIN,
      body: { name: "x", type: "chat", questions: [{ qid: "1", text: "a", type: "text" }] },
    });
    expect(shape.status).toBe(400);
    expect(Object.keys(shape.body.error.details)).toContain("questions.0.qid");
    const client = await call("POST", "/api/schemas", {
      token: await tokenFor("u1"),
      body: schemaBody(),
    });
    expect(client.status).toBe(403);
  });

  it("gets a schema in the caller's language; clients only see published, gettable types", async () => {
    const s = await created(schemaBody());
    const user = await tokenFor("u-lang");
    expect((await call("GET", `/api/schemas/${s.id}`, { token: user })).status).toBe(404);
    await call("POST", `/api/schemas/${s.id}/publish`, { token: ADMIN });
    const de = await call("GET", `/api/schemas/${s.id}?lang=de`, { token: user });
    expect(de.status).toBe(200);
    expect(de.body.questions[0].text).toBe("Hallo {{user.name}}, wähle eine Farbe");
    const fallback = await call("GET", `/api/schemas/${s.id}?lang=fr`, { token: user });
    expect(fallback.body.questions[0].text).toBe("Hello {{user.name}}, pick a colour");

    const internal = await created(schemaBody(undefined, { type: "internal" }));
    await call("POST", `/api/schemas/${internal.id}/publish`, { token: ADMIN });
    expect((await call("GET", `/api/schemas/${internal.id}`, { token: user })).status).toBe(404);
    expect((await call("GET", `/api/schemas/${internal.id}`, { token: ADMIN })).status).toBe(200);
    expect((await call("GET", `/api/schemas/${s.id}`)).status).toBe(401);
  });

  it("lists paginated, limited to listable types and published versions for clients", async () => {
    const name = `list-${crypto.randomUUID()}`;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await created(schemaBody(name));
      ids.push(s.id);
      await call("POST", `/api/schemas/${s.id}/publish`, { token: ADMIN });
    }
    await created(schemaBody(name)); // version 4, unpublished
    const first = await call("GET", `/api/schemas?name=${name}&limit=2`, { token: ADMIN });
    expect(first.body.results.map((s: any) => s.version)).toEqual([4, 3]);
    expect(first.body.next).toBe(2);
    const second = await call("GET", `/api/schemas?name=${name}&limit=2&offset=2`, {
      token: ADMIN,
    });
    expect(second.body.results.map((s: any) => s.version)).toEqual([2, 1]);
    expect(second.body.next).toBeNull();

    const user = await tokenFor("u-list");
    const mine = await call("GET", `/api/schemas?name=${name}`, { token: user });
    expect(mine.body.results.map((s: any) => s.version)).toEqual([3, 2, 1]);

    const hidden = `hidden-${crypto.randomUUID()}`;
    const h = await created(schemaBody(hidden, { type: "internal" }));
    await call("POST", `/api/schemas/${h.id}/publish`, { token: ADMIN });
    expect(
      (await call("GET", `/api/schemas?name=${hidden}`, { token: user })).body.results,
    ).toEqual([]);
    expect(
      (await call("GET", `/api/schemas?name=${hidden}`, { token: ADMIN })).body.results,
    ).toHaveLength(1);
    expect((await call("GET", "/api/schemas?limit=500", { token: user })).status).toBe(400);
  });
});

describe("schemas: lifecycle", () => {
  it("edits an unpublished schema, keeps questions by qid, validates again", async () => {
    const s = await created(schemaBody());
    const questions = schemaBody().questions;
    questions[3]!.text = "Anything else?";
    const res = await call("PATCH", `/api/schemas/${s.id}`, { token: ADMIN, body: { questions } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.questions[3].text).toBe("Anything else?");
    expect(res.body.questions[3].id).toBe(s.questions[3].id);

    const dangling = structuredClone(questions);
    dangling[0]!.answers![0]!.next_qid = 42;
    const bad = await call("PATCH", `/api/schemas/${s.id}`, {
      token: ADMIN,
      body: { questions: dangling },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual({ "questions.0.answers.0.next_qid": ["WRONG_VALUE"] });
    const after = await call("GET", `/api/schemas/${s.id}`, { token: ADMIN });
    expect(after.body.questions[0].answers[0].next_qid).toBe(2);

    const reordered = structuredClone(questions)
      .reverse()
      .map((q, i) => ({ ...q, position: i }));
    const moved = await call("PATCH", `/api/schemas/${s.id}`, {
      token: ADMIN,
      body: { questions: reordered },
    });
    expect(moved.status).toBe(200);
    expect(moved.body.questions.map((q: any) => q.qid)).toEqual([4, 3, 2, 1]);
  });

  it("publishing deprecates older published versions; published ones are read-only", async () => {
    const name = `pub-${crypto.randomUUID()}`;
    const v1 = await created(schemaBody(name));
    const p1 = await call("POST", `/api/schemas/${v1.id}/publish`, { token: ADMIN });
    expect(p1.body).toMatchObject({ published: true, deprecated: false });
    expect(p1.body.published_at).toEqual(expect.any(String));

    const locked = await call("PATCH", `/api/schemas/${v1.id}`, {
      token: ADMIN,
      body: { type: "chat" },
    });
    expect(locked.status).toBe(409);
    expect(locked.body.error.details).toEqual({ published: ["WRONG_STATE"] });

    const copy = await call("POST", `/api/schemas/${v1.id}/copy`, { token: ADMIN });
    expect(copy.status).toBe(201);
    expect(copy.body).toMatchObject({ name, version: 2, published: false, deprecated: false });
    const strip = (s: any) => s.questions.map(({ id: _id, ...q }: any) => q);
    expect(strip(copy.body)).toEqual(strip(v1));
    expect(copy.body.questions[0].id).not.toBe(v1.questions[0].id);

    // The copy is independent: editing it leaves version 1 alone.
    const edited = await call("PATCH", `/api/schemas/${copy.body.id}`, {
      token: ADMIN,
      body: {
        questions: schemaBody()
          .questions.slice(0, 1)
          .map((q) => ({
            ...q,
            next_qid: -1,
            answers: q.answers!.map((a) => ({ ...a, next_qid: -1 })),
          })),
      },
    });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(
      (await call("GET", `/api/schemas/${v1.id}`, { token: ADMIN })).body.questions,
    ).toHaveLength(4);

    await call("POST", `/api/schemas/${copy.body.id}/publish`, { token: ADMIN });
    const old = await call("GET", `/api/schemas/${v1.id}`, { token: ADMIN });
    expect(old.body).toMatchObject({ published: true, deprecated: true });
    const current = await call("GET", `/api/schemas/${copy.body.id}`, { token: ADMIN });
    expect(current.body).toMatchObject({ published: true, deprecated: false });
  });

  it("refuses to publish an empty schema and 404s unknown ids", async () => {
    const empty = await created({ name: `e-${crypto.randomUUID()}`, type: "chat" });
    const res = await call("POST", `/api/schemas/${empty.id}/publish`, { token: ADMIN });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual({ questions: ["REQUIRED"] });
    expect((await call("POST", "/api/schemas/nope/copy", { token: ADMIN })).status).toBe(404);
    expect((await call("POST", "/api/schemas/nope/publish", { token: ADMIN })).status).toBe(404);
  });

  it("ALLOW_EDIT_PUBLISHED_SCHEMAS lets a published schema be edited", async () => {
    const app = createApp(ROOM_KINDS);
    const allowing = { ...env, ALLOW_EDIT_PUBLISHED_SCHEMAS: "true" };
    const s = await created(schemaBody());
    await call("POST", `/api/schemas/${s.id}/publish`, { token: ADMIN });
    const res = await app.request(
      `${BASE}/api/schemas/${s.id}`,
      {
        method: "PATCH",
        headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
        body: JSON.stringify({ type: "chat" }),
      },
      allowing,
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).type).toBe("chat");
  });
});
