import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN, call } from "../../helpers/http";
import {
  CONVERSATION,
  member,
  publishedSchema,
  setMember,
  transcript,
  users,
} from "../../helpers/scripted";
import { createThread, party, post } from "../../helpers/threads";

afterEach(() => {
  vi.useRealTimers();
});

describe("scripted_fe_controlled", () => {
  it("the post names its question: the question's message is stored first, then the answer", async () => {
    const schema = await publishedSchema(CONVERSATION);
    const other = await publishedSchema(CONVERSATION);
    const ada = await party("ada");
    const id = await createThread("admin", [{ user_id: ada.id, name: "Ada" }]);
    await setMember(id, ada.id, { state: "scripted_fe_controlled", schema_id: schema.id });
    expect(await transcript(id)).toEqual([]);

    const none = await post(ada.token, id, { text: "hi" });
    expect(none.body.error.details).toEqual({ question: ["REQUIRED"] });
    const foreign = await post(ada.token, id, {
      question: other.questions[1].id,
      answers: ["21"],
    });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.details).toEqual({ question: ["QUESTION_FROM_WRONG_SCHEMA"] });
    const tooMany = await post(ada.token, id, { question: "2", answers: ["21", "22"] });
    expect(tooMany.body.error.details).toEqual({ answers: ["TOO_MANY"] });
    const message = await post(ada.token, id, { question: "1", text: "ok" });
    expect(message.body.error.details).toEqual({ question: ["NOT_ALLOWED"] });
    expect(await transcript(id)).toEqual([]);

    const red = await post(ada.token, id, { question: "2", answers: ["21"] });
    expect(red.status, JSON.stringify(red.body)).toBe(201);
    expect(await transcript(id)).toEqual(["*: Pick a colour", "ada: Red"]);
    expect((await member(id, ada.id)).question_id).toBe(schema.questions[2].id);

    // By question id as well as by qid.
    const count = await post(ada.token, id, { question: schema.questions[2].id, text: "3" });
    expect(count.status).toBe(201);
    expect((await transcript(id)).slice(2)).toEqual(["*: You said Red. How many, Ada?", "ada: 3"]);
  });
});

describe("assisted", () => {
  it("an assisted member sends questions of its schema and puts a member into scripted", async () => {
    const schema = await publishedSchema(CONVERSATION);
    const agent = await party("agent");
    const ada = await party("ada");
    const id = await createThread("admin", [
      {
        user_id: agent.id,
        state: "assisted",
        schema_id: schema.id,
        permissions: ["messages_read", "messages_create", "thread_read", "control_others"],
      },
      { user_id: ada.id, name: "Ada" },
    ]);

    const asked = await post(agent.token, id, { question: "2" });
    expect(asked.status, JSON.stringify(asked.body)).toBe(201);
    expect(asked.body).toMatchObject({
      sender: agent.id,
      type: "choice",
      text: "Pick a colour",
      related_question: schema.questions[1].id,
    });
    expect(asked.body.meta.question.answers).toHaveLength(2);
    const greeting = await post(agent.token, id, { question: "1" });
    expect(greeting.body.text).toBe("Hi Ada!");
    const foreign = await post(agent.token, id, { question: "99" });
    expect(foreign.body.error.details).toEqual({ question: ["QUESTION_FROM_WRONG_SCHEMA"] });
    expect((await post(agent.token, id, { text: "plain words" })).body.text).toBe("plain words");

    // control_others: the agent puts Ada into scripted at a chosen question.
    const put = await call("PATCH", `${users(id)}/${ada.id}`, {
      token: agent.token,
      body: { state: "scripted", schema_id: schema.id, question_id: "3" },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect((await transcript(id)).at(-1)).toBe("*: You said . How many, Ada?");
    expect((await post(ada.token, id, { text: "4" })).status).toBe(201);
    expect((await transcript(id)).at(-1)).toBe("*: Press continue");

    const wrong = await call("PATCH", `${users(id)}/${ada.id}`, {
      token: agent.token,
      body: { question_id: "not-a-question" },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.details).toEqual({ question_id: ["QUESTION_FROM_WRONG_SCHEMA"] });
  });
});

describe("break_state", () => {
  it("moves the named member, or with true every scripted member, to open", async () => {
    const schema = await publishedSchema(CONVERSATION);
    const ada = await party("ada");
    const boss = await party("boss");
    const plain = await party("plain");
    const id = await createThread("admin", [
      { user_id: ada.id },
      {
        user_id: boss.id,
        permissions: ["messages_read", "messages_create", "thread_read", "break_state"],
      },
      { user_id: plain.id },
    ]);
    await setMember(id, ada.id, { state: "scripted", schema_id: schema.id });

    const refused = await post(plain.token, id, { text: "stop", break_state: ada.id });
    expect(refused.status).toBe(403);
    expect(refused.body.error.details).toEqual({ break_state: ["NO_PERMISSIONS"] });

    expect((await post(boss.token, id, { text: "I take over", break_state: ada.id })).status).toBe(
      201,
    );
    expect(await member(id, ada.id)).toMatchObject({ state: "open", question_id: null });
    expect((await post(ada.token, id, { text: "free" })).status).toBe(201);

    await setMember(id, ada.id, { state: "scripted" });
    expect((await member(id, ada.id)).question_id).toBe(schema.questions[1].id);
    expect((await post(boss.token, id, { text: "all stop", break_state: true })).status).toBe(201);
    expect((await member(id, ada.id)).state).toBe("open");
  });
});

describe("schema versions and member changes", () => {
  it("a member finishes on its version; new conversations refuse deprecated and draft versions", async () => {
    const v1 = await publishedSchema({
      questions: [
        { qid: 1, text: "Start?", type: "choice", answers: [{ id: 1, text: "Yes", next_qid: 2 }] },
        { qid: 2, text: "Version one", type: "text" },
      ],
    });
    const ada = await party("ada");
    const id = await createThread("admin", [{ user_id: ada.id }]);
    await setMember(id, ada.id, { state: "scripted", schema_id: v1.id });

    const v2 = await call("POST", `/api/schemas/${v1.id}/copy`, { token: ADMIN });
    const questions = [
      { qid: 1, text: "Start?", type: "choice", answers: [{ id: 1, text: "Yes", next_qid: 2 }] },
      { qid: 2, text: "Version two", type: "text" },
    ];
    await call("PATCH", `/api/schemas/${v2.body.id}`, { token: ADMIN, body: { questions } });
    await call("POST", `/api/schemas/${v2.body.id}/publish`, { token: ADMIN });

    expect((await post(ada.token, id, { answers: ["1"] })).status).toBe(201);
    expect((await transcript(id)).at(-1)).toBe("*: Version one");

    const bob = await party("bob");
    const other = await createThread("admin", [{ user_id: bob.id }]);
    const deprecated = await call("PATCH", `${users(other)}/${bob.id}`, {
      token: ADMIN,
      body: { state: "scripted", schema_id: v1.id },
    });
    expect(deprecated.status).toBe(400);
    expect(deprecated.body.error.details).toEqual({ schema_id: ["WRONG_STATE"] });
    const draft = await call("POST", `/api/schemas/${v2.body.id}/copy`, { token: ADMIN });
    const unpublished = await call("PATCH", `${users(other)}/${bob.id}`, {
      token: ADMIN,
      body: { state: "scripted", schema_id: draft.body.id },
    });
    expect(unpublished.body.error.details).toEqual({ schema_id: ["WRONG_STATE"] });
    const missing = await call("PATCH", `${users(other)}/${bob.id}`, {
      token: ADMIN,
      body: { state: "scripted", schema_id: "no-such-schema" },
    });
    expect(missing.body.error.details).toEqual({ schema_id: ["WRONG_VALUE"] });
    await setMember(other, bob.id, {
      state: "scripted",
      schema_id: v2.body.id,
      initial_question_id: "2",
    });
    expect(await transcript(other)).toEqual(["*: Version two"]);
  });

  it("a member added in scripted state with the thread gets its first question", async () => {
    const schema = await publishedSchema(CONVERSATION);
    const ada = await party("ada");
    const id = await createThread("admin", [
      { user_id: ada.id, name: "Ada", state: "scripted", schema_id: schema.id },
    ]);
    expect(await transcript(id)).toEqual(["*: Hi Ada!", "*: Pick a colour"]);
  });
});

describe("on_finish repeat on a schedule", () => {
  const oneQuestion = {
    questions: [{ qid: 1, text: "How do you feel?", type: "text", required: true }],
  };

  it("waits frequency × unit, then the thread room's alarm restarts the conversation", async () => {
    const schema = await publishedSchema(oneQuestion);
    const ada = await party("ada");
    const id = await createThread("admin", [{ user_id: ada.id }]);
    const until = new Date(Date.now() + 3 * 3600_000).toISOString();
    await setMember(id, ada.id, {
      state: "scripted",
      schema_id: schema.id,
      on_finish: "repeat",
      frequency_unit: "hours",
      frequency_value: 1,
      repeat_until: until,
    });
    const answeredAt = Date.now();
    expect((await post(ada.token, id, { text: "fine" })).status).toBe(201);
    const waiting = await member(id, ada.id);
    expect(waiting).toMatchObject({ state: "scripted", question_id: null });
    const restartAt = Date.parse(waiting.next_restart);
    expect(restartAt - answeredAt).toBeGreaterThanOrEqual(3600_000 - 1000);
    expect(restartAt - answeredAt).toBeLessThan(3600_000 + 60_000);

    const early = await post(ada.token, id, { text: "again?" });
    expect(early.status).toBe(400);
    expect(early.body.error.details).toEqual({ text: ["WRONG_STATE"] });

    const stub = env.THREAD_ROOM.get(env.THREAD_ROOM.idFromName(id));
    const alarm = await runInDurableObject(stub, (_room, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(restartAt);

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(restartAt + 60_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    vi.useRealTimers();

    expect(await transcript(id)).toEqual([
      "*: How do you feel?",
      "ada: fine",
      "*: How do you feel?",
    ]);
    expect(await member(id, ada.id)).toMatchObject({
      question_id: schema.questions[0].id,
      next_restart: null,
    });
  });

  it("stops repeating after repeat_until, and restarts at once without a frequency", async () => {
    const schema = await publishedSchema(oneQuestion);
    const ada = await party("ada");
    const id = await createThread("admin", [{ user_id: ada.id }]);
    await setMember(id, ada.id, {
      state: "scripted",
      schema_id: schema.id,
      on_finish: "repeat",
      frequency_unit: "days",
      frequency_value: 1,
      repeat_until: new Date(Date.now() + 3600_000).toISOString(),
    });
    expect((await post(ada.token, id, { text: "ok" })).status).toBe(201);
    expect(await member(id, ada.id)).toMatchObject({ state: "open", next_restart: null });

    const bob = await party("bob");
    const again = await createThread("admin", [{ user_id: bob.id }]);
    await setMember(again, bob.id, {
      state: "scripted",
      schema_id: schema.id,
      on_finish: "repeat",
    });
    expect((await post(bob.token, again, { text: "ok" })).status).toBe(201);
    expect(await transcript(again)).toEqual([
      "*: How do you feel?",
      "bob: ok",
      "*: How do you feel?",
    ]);
  });

  it("break_state cancels a scheduled restart", async () => {
    const schema = await publishedSchema(oneQuestion);
    const ada = await party("ada");
    const id = await createThread("admin", [{ user_id: ada.id }]);
    await setMember(id, ada.id, {
      state: "scripted",
      schema_id: schema.id,
      on_finish: "repeat",
      frequency_unit: "weeks",
      frequency_value: 1,
    });
    await post(ada.token, id, { text: "ok" });
    expect((await member(id, ada.id)).next_restart).not.toBeNull();
    const done = await call("POST", `/api/threads/${id}/messages`, {
      token: ADMIN,
      body: { text: "over", break_state: true },
    });
    expect(done.status, JSON.stringify(done.body)).toBe(201);
    expect(await member(id, ada.id)).toMatchObject({ state: "open", next_restart: null });
  });
});
