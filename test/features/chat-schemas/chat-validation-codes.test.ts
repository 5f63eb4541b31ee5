import { describe, expect, it } from "vitest";
import { schemaBody } from "../../helpers/chat-fixtures";
import { ADMIN, call, expectErrorShape, tokenFor } from "../../helpers/http";
import { CONVERSATION, publishedSchema, setMember, transcript } from "../../helpers/scripted";
import { createThread, party, post } from "../../helpers/threads";

/** The `details` of a 400 in the contract's shape. */
async function refusal(method: string, path: string, body: unknown, token = ADMIN) {
  const res = await call(method, path, { token, body });
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expectErrorShape(res.body);
  expect(res.body.error.code).toBe("bad_request");
  return res.body.error.details;
}

const JUNK_IDS = ["abc", 1.5, true, -1, null];

describe("zod failures of the chat routes name each field with the chat codes", () => {
  it("threads: wrong types, bad enums, missing and unknown fields", async () => {
    expect(await refusal("POST", "/api/threads", { title: 5, members: "x" })).toEqual({
      title: ["WRONG_VALUE"],
      members: ["WRONG_VALUE"],
    });
    expect(
      await refusal("POST", "/api/threads", {
        members: [{ name: "NoId" }, { user_id: "u", state: "bogus", notifications: ["email"] }],
      }),
    ).toEqual({
      "members.0.user_id": ["REQUIRED"],
      "members.1.state": ["WRONG_VALUE"],
      "members.1.notifications": ["WRONG_VALUE"],
    });
    expect(await refusal("POST", "/api/threads", { title: "t", colour: "red" })).toEqual({
      colour: ["WRONG_VALUE"],
    });
    expect(await refusal("POST", "/api/threads", ["not", "an", "object"])).toEqual({
      non_field_errors: ["WRONG_VALUE"],
    });
    const id = await createThread("admin");
    expect(await refusal("PATCH", `/api/threads/${id}`, { notifications: ["email"] })).toEqual({
      notifications: ["WRONG_VALUE"],
    });
    expect(await refusal("GET", "/api/threads?limit=abc", undefined)).toEqual({
      limit: ["WRONG_VALUE"],
    });
  });

  it("members: a missing user_id, a bad state, too many permissions", async () => {
    const ada = await party("ada");
    const id = await createThread("admin", [{ user_id: ada.id }]);
    expect(await refusal("POST", `/api/threads/${id}/users`, { name: "NoId" })).toEqual({
      user_id: ["REQUIRED"],
    });
    expect(
      await refusal("PATCH", `/api/threads/${id}/users/${ada.id}`, { state: "bogus" }),
    ).toEqual({ state: ["WRONG_VALUE"] });
    const permissions = Array.from({ length: 14 }, () => "messages_read");
    expect(await refusal("PATCH", `/api/threads/${id}/users/${ada.id}`, { permissions })).toEqual({
      permissions: ["TOO_MANY"],
    });
  });

  it("messages: body, path and header", async () => {
    const ada = await party("ada");
    const id = await createThread(ada);
    const messages = `/api/threads/${id}/messages`;
    expect(await refusal("POST", messages, { text: 5 }, ada.token)).toEqual({
      text: ["WRONG_VALUE"],
    });
    const many = Array.from({ length: 101 }, (_, i) => i);
    expect(await refusal("POST", messages, { text: "", answers: many }, ada.token)).toEqual({
      answers: ["TOO_MANY"],
    });
    expect(await refusal("PATCH", `${messages}/abc`, { text: "x" }, ada.token)).toEqual({
      mid: ["WRONG_VALUE"],
    });
    const keyed = await call("POST", messages, {
      token: ada.token,
      headers: { "Idempotency-Key": "with space" },
      body: { text: "never" },
    });
    expect(keyed.status).toBe(400);
    expect(keyed.body.error.details).toEqual({ "idempotency-key": ["WRONG_VALUE"] });
    expect(await transcript(id)).toEqual([]);
  });

  it("schemas: a bad question type, a missing name, an answer id that is no integer", async () => {
    const body = schemaBody();
    const bad = {
      ...body,
      name: undefined,
      questions: [{ ...body.questions[0], type: "bogus" }, body.questions[1]],
    };
    expect(await refusal("POST", "/api/schemas", bad)).toEqual({
      name: ["REQUIRED"],
      "questions.0.type": ["WRONG_VALUE"],
    });
    const badAnswer = {
      ...body,
      questions: [{ ...body.questions[0], answers: [{ id: "x", text: "Red" }] }],
    };
    expect(await refusal("POST", "/api/schemas", badAnswer)).toEqual({
      "questions.0.answers.0.id": ["WRONG_VALUE"],
    });
  });

  it("surveys: a missing schema_id, a missing question, a bad page", async () => {
    expect(await refusal("POST", "/api/surveys", { user_id: "s-codes" })).toEqual({
      schema_id: ["REQUIRED"],
    });
    const schema = await publishedSchema({ ...schemaBody(), type: "survey" });
    const token = await tokenFor(`s-codes-${crypto.randomUUID()}`);
    const survey = await call("POST", "/api/surveys", { token, body: { schema_id: schema.id } });
    expect(survey.status).toBe(201);
    const items = `/api/surveys/${survey.body.id}/items`;
    expect(await refusal("POST", items, { answers: [11] }, token)).toEqual({
      question: ["REQUIRED"],
    });
    expect(await refusal("GET", `${items}?offset=-1`, undefined, token)).toEqual({
      offset: ["WRONG_VALUE"],
    });
  });

  it("malformed JSON stays a plain 400; other areas keep zod's messages", async () => {
    const malformed = await call("POST", "/api/threads", { token: ADMIN, rawBody: "{oops" });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe("bad_request");
    expect(malformed.body.error.details).toBeUndefined();

    const token = await call("POST", "/api/tokens", { token: ADMIN, body: { user: 5 } });
    expect(token.status).toBe(400);
    expect(token.body.error.details.user).toEqual([expect.stringMatching(/^Invalid input/)]);
  });
});

describe("answer and question ids: an integer or its decimal string", () => {
  /** A new thread whose member `ada` is in `state` on `schema`. */
  async function memberIn(state: "scripted" | "scripted_fe_controlled", schema: { id: string }) {
    const ada = await party("ada");
    const id = await createThread("admin", [{ user_id: ada.id, name: "Ada" }]);
    await setMember(id, ada.id, { state, schema_id: schema.id });
    return { ada, id };
  }

  it("a scripted answer: [21] and ['21'] store the same answer; junk ids are WRONG_VALUE", async () => {
    const schema = await publishedSchema(CONVERSATION);
    const stored: unknown[] = [];
    for (const answers of [[21], ["21"]]) {
      const { ada, id } = await memberIn("scripted", schema);
      const before = await transcript(id);
      for (const junk of JUNK_IDS) {
        const res = await post(ada.token, id, { text: "", answers: [junk] });
        expect(res.status, JSON.stringify(junk)).toBe(400);
        expect(res.body.error.details, JSON.stringify(junk)).toEqual({ answers: ["WRONG_VALUE"] });
      }
      expect(await transcript(id)).toEqual(before);
      const res = await post(ada.token, id, { text: "", answers });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const { text, answers: ids, related_question } = res.body;
      stored.push({ text, answers: ids, related_question });
    }
    expect(stored[0]).toEqual({
      text: "Red",
      answers: ["21"],
      related_question: schema.questions[1].id,
    });
    expect(stored[1]).toEqual(stored[0]);
  });

  it("scripted_fe_controlled: question 2 and '2' name the same question; junk is WRONG_VALUE", async () => {
    const schema = await publishedSchema(CONVERSATION);
    for (const question of [2, "2"]) {
      const { ada, id } = await memberIn("scripted_fe_controlled", schema);
      for (const junk of JUNK_IDS) {
        const res = await post(ada.token, id, { question: junk, answers: [21] });
        expect(res.status, JSON.stringify(junk)).toBe(400);
        expect(res.body.error.details, JSON.stringify(junk)).toEqual({ question: ["WRONG_VALUE"] });
      }
      const res = await post(ada.token, id, { question, answers: [22] });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({
        text: "Blue",
        answers: ["22"],
        related_question: schema.questions[1].id,
      });
      expect(await transcript(id)).toEqual(["*: Pick a colour", "ada: Blue"]);
    }
  });

  it("a question's id (not its qid) still names it", async () => {
    const schema = await publishedSchema(CONVERSATION);
    const { ada, id } = await memberIn("scripted_fe_controlled", schema);
    const res = await post(ada.token, id, { question: schema.questions[1].id, answers: ["21"] });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.answers).toEqual(["21"]);
  });

  it("survey items: numbers and their strings give the same item; junk ids are WRONG_VALUE", async () => {
    const schema = await publishedSchema({ ...schemaBody(), type: "survey" });
    const items: any[] = [];
    for (const body of [
      { question: 1, answers: [11] },
      { question: "1", answers: ["11"] },
    ]) {
      const token = await tokenFor(`s-ids-${crypto.randomUUID()}`);
      const survey = await call("POST", "/api/surveys", { token, body: { schema_id: schema.id } });
      const path = `/api/surveys/${survey.body.id}/items`;
      for (const junk of JUNK_IDS) {
        expect(await refusal("POST", path, { question: 1, answers: [junk] }, token)).toEqual({
          answers: ["WRONG_VALUE"],
        });
        expect(await refusal("POST", path, { question: junk, answers: [11] }, token)).toEqual({
          question: ["WRONG_VALUE"],
        });
      }
      const res = await call("POST", path, { token, body });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const patched = await call("PATCH", `${path}/${res.body.id}`, {
        token,
        body: { answers: typeof body.question === "number" ? [12] : ["12"] },
      });
      expect(patched.status, JSON.stringify(patched.body)).toBe(200);
      expect(await refusal("PATCH", `${path}/${res.body.id}`, { answers: ["1e1"] }, token)).toEqual(
        { answers: ["WRONG_VALUE"] },
      );
      items.push([res.body, patched.body]);
    }
    const [numeric, textual] = items.map(([created, patched]) => ({
      question: created.question,
      question_id: created.question_id,
      created: created.answers,
      patched: patched.answers,
      state: patched.survey_state,
    }));
    expect(numeric).toMatchObject({ question: 1, created: [11], patched: [12] });
    expect(textual).toEqual(numeric);
  });

  it("the OpenAPI document shows both forms", async () => {
    const doc = (await call("GET", "/openapi.json")).body;
    const input = doc.components.schemas.ThreadMessageCreate.properties;
    expect(JSON.stringify(input.answers.items)).toContain('"integer"');
    expect(JSON.stringify(input.answers.items)).toContain('"string"');
    expect(JSON.stringify(input.question)).toContain('"integer"');
  });
});

describe("user ids in chat bodies follow the user id charset", () => {
  const BAD_IDS = ["x,user:victim", "with space", "a".repeat(129), "tab\there", "émile", ""];

  it("threads, members, break_state and surveys: 400 naming the field, nothing stored", async () => {
    const ada = await party("ada");
    const id = await createThread("admin", [{ user_id: ada.id }]);
    const members = (await call("GET", `/api/threads/${id}/users`, { token: ADMIN })).body;
    const surveys = (await call("GET", "/api/surveys?limit=200", { token: ADMIN })).body;
    for (const bad of BAD_IDS) {
      expect(await refusal("POST", "/api/threads", { members: [{ user_id: bad }] })).toEqual({
        "members.0.user_id": ["WRONG_VALUE"],
      });
      expect(await refusal("POST", `/api/threads/${id}/users`, { user_id: bad })).toEqual({
        user_id: ["WRONG_VALUE"],
      });
      expect(await refusal("POST", `/api/threads/${id}/messages`, { break_state: bad })).toEqual({
        break_state: ["WRONG_VALUE"],
      });
      expect(
        await refusal("POST", "/api/surveys", { schema_id: "none", user_id: bad }),
      ).toMatchObject({ user_id: ["WRONG_VALUE"] });
      expect(
        await refusal("GET", `/api/surveys?user_id=${encodeURIComponent(bad)}`, undefined),
      ).toEqual({ user_id: ["WRONG_VALUE"] });
    }
    expect((await call("GET", `/api/threads/${id}/users`, { token: ADMIN })).body).toEqual(members);
    expect((await call("GET", "/api/surveys?limit=200", { token: ADMIN })).body).toEqual(surveys);
    expect(await transcript(id)).toEqual([]);
  });
});
