import { describe, expect, it } from "vitest";
import { ADMIN, call } from "../../helpers/http";
import {
  CONVERSATION,
  member,
  publishedSchema,
  setMember,
  transcript,
  users,
} from "../../helpers/scripted";
import { createThread, party } from "../../helpers/threads";

// Clients of the original chat API name a member's schema and current question `schema` and
// `question` (contract §7); Switchboard's own names are `schema_id` and `question_id`.
describe("thread members: the original's field names", () => {
  it("`schema` starts a scripted conversation as `schema_id` does", async () => {
    const schema = await publishedSchema(CONVERSATION);
    const ada = await party("ada");
    const id = await createThread("admin", [{ user_id: ada.id, name: "Ada" }]);

    const after = await setMember(id, ada.id, { state: "scripted", schema: schema.id });
    expect(after).toMatchObject({ state: "scripted", schema_id: schema.id });
    expect(after).not.toHaveProperty("schema");
    expect(await transcript(id)).toEqual(["*: Hi Ada!", "*: Pick a colour"]);
  });

  it("`question` picks the question to start on, on creation and on adding a member", async () => {
    const schema = await publishedSchema(CONVERSATION);
    const ada = await party("ada");
    const bob = await party("bob");
    const fourth = schema.questions.find((q: any) => q.qid === 4);
    const id = await createThread("admin", [
      { user_id: ada.id, name: "Ada", state: "scripted", schema: schema.id, question: fourth.id },
    ]);
    expect(await member(id, ada.id)).toMatchObject({
      schema_id: schema.id,
      question_id: fourth.id,
    });
    expect(await transcript(id)).toEqual(["*: Why blue?"]);

    const added = await call("POST", users(id), {
      token: ADMIN,
      body: { user_id: bob.id, state: "assisted", schema: schema.id },
    });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expect(added.body).toMatchObject({ state: "assisted", schema_id: schema.id });
  });

  it("the aliases need control_others like the fields they stand for", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread(ada, [{ user_id: bob.id }]);
    const added = await call("POST", users(id), {
      token: ada.token,
      body: { user_id: "x1", schema: "s1", question: "q1" },
    });
    expect(added.status).toBe(403);
    expect(added.body.error.details).toEqual({
      schema: ["NO_PERMISSIONS"],
      question: ["NO_PERMISSIONS"],
    });
  });

  it("both names with different values are refused on the alias; the same value is fine", async () => {
    const schema = await publishedSchema(CONVERSATION);
    const other = await publishedSchema(CONVERSATION);
    const ada = await party("ada");
    const id = await createThread("admin", [{ user_id: ada.id, name: "Ada" }]);
    const path = `${users(id)}/${ada.id}`;

    const differ = await call("PATCH", path, {
      token: ADMIN,
      body: {
        state: "scripted",
        schema: other.id,
        schema_id: schema.id,
        question: "a",
        question_id: "b",
      },
    });
    expect(differ.status).toBe(400);
    expect(differ.body.error.details).toEqual({
      schema: ["WRONG_VALUE"],
      question: ["WRONG_VALUE"],
    });
    expect((await member(id, ada.id)).state).toBe("open");

    const same = await setMember(id, ada.id, {
      state: "scripted",
      schema: schema.id,
      schema_id: schema.id,
    });
    expect(same.schema_id).toBe(schema.id);

    const cleared = await setMember(id, ada.id, { state: "open", schema: null });
    expect(cleared).toMatchObject({ state: "open", schema_id: null });
  });

  it("the OpenAPI document describes the aliases", async () => {
    const doc = (await call("GET", "/openapi.json")).body;
    for (const name of ["ThreadMemberInput", "ThreadMemberChange"]) {
      const props = doc.components.schemas[name].properties;
      expect(props.schema.description).toContain("schema_id");
      expect(props.question.description).toContain("question_id");
    }
  });
});
