import { describe, expect, it } from "vitest";
import { schemaBody } from "../../helpers/chat-fixtures";
import { ADMIN, call, expectErrorShape, tokenFor } from "../../helpers/http";

async function publishedSchema(extra: Record<string, unknown> = {}) {
  const s = await call("POST", "/api/schemas", {
    token: ADMIN,
    body: schemaBody(undefined, extra),
  });
  expect(s.status, JSON.stringify(s.body)).toBe(201);
  await call("POST", `/api/schemas/${s.body.id}/publish`, { token: ADMIN });
  return s.body;
}

async function surveyFor(userId: string) {
  const schema = await publishedSchema();
  const token = await tokenFor(userId);
  const res = await call("POST", "/api/surveys", { token, body: { schema_id: schema.id } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { schema, token, survey: res.body };
}

describe("surveys: create and read", () => {
  it("a client starts a survey for itself with the initial state", async () => {
    const { survey } = await surveyFor("s-u1");
    expect(survey).toMatchObject({ user_id: "s-u1", state: { visibility: [1], completed: false } });
  });

  it("admin starts one for anyone; a client not for someone else", async () => {
    const schema = await publishedSchema();
    const byAdmin = await call("POST", "/api/surveys", {
      token: ADMIN,
      body: { schema_id: schema.id, user_id: "s-u2" },
    });
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body.user_id).toBe("s-u2");
    const noUser = await call("POST", "/api/surveys", {
      token: ADMIN,
      body: { schema_id: schema.id },
    });
    expect(noUser.body.error.details).toEqual({ user_id: ["REQUIRED"] });
    const other = await call("POST", "/api/surveys", {
      token: await tokenFor("s-u3"),
      body: { schema_id: schema.id, user_id: "s-u2" },
    });
    expect(other.status).toBe(403);
  });

  it("refuses a schema type not allowed for surveys, unpublished and deprecated versions", async () => {
    const token = await tokenFor("s-u4");
    const chat = await publishedSchema({ type: "chat" });
    const refused = await call("POST", "/api/surveys", { token, body: { schema_id: chat.id } });
    expect(refused.status).toBe(400);
    expectErrorShape(refused.body);
    expect(refused.body.error.details).toEqual({ schema_id: ["NOT_ALLOWED"] });

    const draft = await call("POST", "/api/schemas", { token: ADMIN, body: schemaBody() });
    const unpublished = await call("POST", "/api/surveys", {
      token,
      body: { schema_id: draft.body.id },
    });
    expect(unpublished.body.error.details).toEqual({ schema_id: ["WRONG_STATE"] });

    const v1 = await publishedSchema();
    const v2 = await call("POST", `/api/schemas/${v1.id}/copy`, { token: ADMIN });
    await call("POST", `/api/schemas/${v2.body.id}/publish`, { token: ADMIN });
    const deprecated = await call("POST", "/api/surveys", { token, body: { schema_id: v1.id } });
    expect(deprecated.body.error.details).toEqual({ schema_id: ["WRONG_STATE"] });

    const missing = await call("POST", "/api/surveys", { token, body: { schema_id: "nope" } });
    expect(missing.body.error.details).toEqual({ schema_id: ["WRONG_VALUE"] });
  });

  it("a user sees only their own surveys", async () => {
    const a = await surveyFor(`s-a-${crypto.randomUUID()}`);
    const b = await surveyFor(`s-b-${crypto.randomUUID()}`);
    const listA = await call("GET", "/api/surveys", { token: a.token });
    expect(listA.body.results.map((s: any) => s.id)).toEqual([a.survey.id]);
    expect(listA.body.next).toBeNull();
    expect((await call("GET", `/api/surveys/${b.survey.id}`, { token: a.token })).status).toBe(404);
    expect(
      (await call("GET", `/api/surveys/${b.survey.id}/items`, { token: a.token })).status,
    ).toBe(404);
    const post = await call("POST", `/api/surveys/${b.survey.id}/items`, {
      token: a.token,
      body: { question: 1, answers: [11] },
    });
    expect(post.status).toBe(404);
    const admin = await call("GET", `/api/surveys?user_id=${b.survey.user_id}`, { token: ADMIN });
    expect(admin.body.results.map((s: any) => s.id)).toEqual([b.survey.id]);
  });
});

describe("surveys: items", () => {
  it("answers branch the visibility; completion needs every visible required question", async () => {
    const { token, survey } = await surveyFor(`s-${crypto.randomUUID()}`);
    const items = `/api/surveys/${survey.id}/items`;

    const red = await call("POST", items, { token, body: { question: 1, answers: [11] } });
    expect(red.status, JSON.stringify(red.body)).toBe(201);
    expect(red.body).toMatchObject({ question: 1, answers: [11], text: null });
    expect(red.body.survey_state).toEqual({ visibility: [1, 2, 4], completed: false });

    const why = await call("POST", items, { token, body: { question: 2, text: "<b>warm</b>" } });
    expect(why.body.survey_state).toEqual({ visibility: [1, 2, 4], completed: true });
    const got = await call("GET", `/api/surveys/${survey.id}`, { token });
    expect(got.body.state).toEqual({ visibility: [1, 2, 4], completed: true });

    // Changing the first answer hides the whole red branch; its item stays but no longer counts.
    const blue = await call("PATCH", `${items}/${red.body.id}`, { token, body: { answers: [12] } });
    expect(blue.status).toBe(200);
    expect(blue.body.survey_state).toEqual({ visibility: [1, 3, 4], completed: false });
    const list = await call("GET", items, { token });
    expect(list.body.results.map((i: any) => i.question)).toEqual([1, 2]);

    // Range 0..10: 0 is an answer, not "missing".
    const zero = await call("POST", items, { token, body: { question: 3, text: "0" } });
    expect(zero.status, JSON.stringify(zero.body)).toBe(201);
    expect(zero.body.survey_state.completed).toBe(true);

    const removed = await call("DELETE", `${items}/${zero.body.id}`, { token });
    expect(removed.status).toBe(204);
    expect((await call("GET", `/api/surveys/${survey.id}`, { token })).body.state).toEqual({
      visibility: [1, 3, 4],
      completed: false,
    });
  });

  it("validates items like scripted answers, also on PATCH, storing nothing on refusal", async () => {
    const { token, survey } = await surveyFor(`s-${crypto.randomUUID()}`);
    const items = `/api/surveys/${survey.id}/items`;
    const cases: [unknown, Record<string, string[]>][] = [
      [{ question: 1 }, { answers: ["REQUIRED"] }],
      [{ question: 1, answers: [11, 12] }, { answers: ["TOO_MANY"] }],
      [{ question: 1, answers: [99] }, { answers: ["WRONG_VALUE"] }],
      [{ question: 1, answers: [11], text: "x" }, { text: ["WRONG_STATE"] }],
      [{ question: 3, text: "11" }, { text: ["WRONG_VALUE"] }],
      [{ question: 3, text: "abc" }, { text: ["WRONG_VALUE"] }],
      [{ question: 77, text: "x" }, { question: ["QUESTION_FROM_WRONG_SCHEMA"] }],
    ];
    for (const [body, details] of cases) {
      const res = await call("POST", items, { token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.details, JSON.stringify(body)).toEqual(details);
    }
    expect((await call("GET", items, { token })).body.results).toEqual([]);

    const ok = await call("POST", items, { token, body: { question: 1, answers: [11] } });
    const bad = await call("PATCH", `${items}/${ok.body.id}`, {
      token,
      body: { answers: [11, 12] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual({ answers: ["TOO_MANY"] });
    const item = await call("GET", `${items}/${ok.body.id}`, { token });
    expect(item.body.answers).toEqual([11]);
  });

  it("a question of another schema is refused, a second answer to a question is 409", async () => {
    const { token, survey } = await surveyFor(`s-${crypto.randomUUID()}`);
    const other = await publishedSchema();
    const items = `/api/surveys/${survey.id}/items`;
    const foreign = await call("POST", items, {
      token,
      body: { question: other.questions[0].id, answers: [11] },
    });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.details).toEqual({ question: ["QUESTION_FROM_WRONG_SCHEMA"] });

    expect(
      (await call("POST", items, { token, body: { question: 1, answers: [11] } })).status,
    ).toBe(201);
    const again = await call("POST", items, { token, body: { question: 1, answers: [12] } });
    expect(again.status).toBe(409);
    expect(again.body.error.details).toEqual({ question: ["ALREADY_ANSWERED"] });
  });

  it("concurrent answers all count in the state", async () => {
    const { token, survey } = await surveyFor(`s-${crypto.randomUUID()}`);
    const items = `/api/surveys/${survey.id}/items`;
    await call("POST", items, { token, body: { question: 1, answers: [11] } });
    const results = await Promise.all([
      call("POST", items, { token, body: { question: 2, text: "a" } }),
      call("POST", items, { token, body: { question: 4, text: "b" } }),
      call("POST", items, { token, body: { question: 3, text: "5" } }),
    ]);
    expect(results.map((r) => r.status)).toEqual([201, 201, 201]);
    const got = await call("GET", `/api/surveys/${survey.id}`, { token });
    expect(got.body.state).toEqual({ visibility: [1, 2, 4], completed: true });
    expect((await call("GET", items, { token })).body.results).toHaveLength(4);
  });

  it("a survey finishes on its version after the schema is copied and republished", async () => {
    const { schema, token, survey } = await surveyFor(`s-${crypto.randomUUID()}`);
    const copy = await call("POST", `/api/schemas/${schema.id}/copy`, { token: ADMIN });
    const questions = schemaBody()
      .questions.slice(0, 1)
      .map((q) => ({
        ...q,
        next_qid: -1,
        answers: q.answers!.map((a) => ({ ...a, next_qid: -1 })),
      }));
    await call("PATCH", `/api/schemas/${copy.body.id}`, { token: ADMIN, body: { questions } });
    await call("POST", `/api/schemas/${copy.body.id}/publish`, { token: ADMIN });
    const items = `/api/surveys/${survey.id}/items`;
    const red = await call("POST", items, { token, body: { question: 1, answers: [11] } });
    expect(red.body.survey_state.visibility).toEqual([1, 2, 4]);
    expect((await call("POST", items, { token, body: { question: 2, text: "x" } })).status).toBe(
      201,
    );
  });
});
