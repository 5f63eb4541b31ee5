import { describe, expect, it } from "vitest";
import { ADMIN, call } from "../../helpers/http";
import {
  CONVERSATION,
  member,
  publishedSchema,
  setMember,
  systemMessage,
  transcript,
} from "../../helpers/scripted";
import { createThread, party, post, threadSocket } from "../../helpers/threads";

describe("scripted mode: a full conversation over the thread's socket", () => {
  it("asks, refuses invalid answers, branches, chains flow questions, forks, repeats, closes", async () => {
    const schema = await publishedSchema(CONVERSATION);
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread("admin", [
      { user_id: ada.id, name: "<Ada>" },
      { user_id: bob.id },
    ]);
    const [wa, wb] = await Promise.all([threadSocket(id, ada.token), threadSocket(id, bob.token)]);

    await setMember(id, ada.id, { state: "scripted", schema_id: schema.id, on_finish: "repeat" });

    // The message question chains straight into the choice; names are escaped in the template.
    const hi = await systemMessage(wa);
    expect(hi).toMatchObject({ type: "message", text: "Hi &lt;Ada&gt;!", sender: null });
    expect(hi.related_question).toBe(schema.questions[0].id);
    const colour = await systemMessage(wa);
    expect(colour).toMatchObject({ type: "choice", text: "Pick a colour" });
    expect(colour.meta.question).toMatchObject({ qid: 2, type: "choice", required: true });
    expect(colour.meta.question.answers.map((a: any) => [a.id, a.text])).toEqual([
      [21, "Red"],
      [22, "Blue"],
    ]);
    expect(colour.meta.for_user).toBe(ada.id);
    expect((await systemMessage(wb)).text).toBe("Hi &lt;Ada&gt;!");
    expect((await systemMessage(wb)).text).toBe("Pick a colour");

    // Invalid answers: 400 with the code, nothing stored, nothing sent.
    const before = await transcript(id);
    const tooMany = await post(ada.token, id, { answers: ["21", "22"] });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.details).toEqual({ answers: ["TOO_MANY"] });
    const typed = await post(ada.token, id, { text: "red!" });
    expect(typed.body.error.details).toEqual({ text: ["WRONG_STATE"] });
    const foreign = await post(ada.token, id, { answers: ["99"] });
    expect(foreign.body.error.details).toEqual({ answers: ["WRONG_VALUE"] });
    expect(await transcript(id)).toEqual(before);
    await wb.nothing((f) => f?.event === "message_created_or_updated", 200);

    // The answer is stored as the answer's text; the branch goes to "how many".
    const red = await post(ada.token, id, { answers: ["21"] });
    expect(red.status, JSON.stringify(red.body)).toBe(201);
    expect(red.body).toMatchObject({
      text: "Red",
      answers: ["21"],
      related_question: colour.related_question,
    });
    const howMany = await systemMessage(wa);
    expect(howMany).toMatchObject({ type: "int", text: "You said Red. How many, &lt;Ada&gt;?" });

    const outOfRange = await post(ada.token, id, { text: "11" });
    expect(outOfRange.body.error.details).toEqual({ text: ["WRONG_VALUE"] });
    expect((await post(ada.token, id, { text: "0" })).status).toBe(201);

    // control: any post moves on with 204 and stores nothing.
    const control = await systemMessage(wa);
    expect(control).toMatchObject({ type: "buttons", text: "Press continue" });
    const pressed = await post(ada.token, id, { text: "continue" });
    expect(pressed.status).toBe(204);

    // The fork picks "high" from the variables; then -1 and on_finish repeat restarts.
    expect((await systemMessage(wa)).text).toBe("High 10, count 0");
    expect((await systemMessage(wa)).text).toBe("Hi &lt;Ada&gt;!");
    expect((await systemMessage(wa)).text).toBe("Pick a colour");
    expect(await member(id, ada.id)).toMatchObject({
      state: "scripted",
      question_id: colour.related_question,
      variables: { score: 10, count: "0" },
    });

    // Second round, the other branch, and this time the member is closed at the end.
    await setMember(id, ada.id, { on_finish: "close" });
    expect((await post(ada.token, id, { answers: ["22"] })).status).toBe(201);
    expect((await systemMessage(wa)).text).toBe("Why blue?");
    const empty = await post(ada.token, id, { text: "  " });
    expect(empty.body.error.details).toEqual({ text: ["REQUIRED"] });
    expect((await post(ada.token, id, { text: "calm" })).status).toBe(201);
    await systemMessage(wa); // control
    expect((await post(ada.token, id, {})).status).toBe(204);
    expect((await systemMessage(wa)).text).toBe("Low");

    expect(await member(id, ada.id)).toMatchObject({ state: "closed", question_id: null });
    const closed = await post(ada.token, id, { text: "hello?" });
    expect(closed.status).toBe(403);
    expect(closed.body.error.details).toEqual({ text: ["THREAD_IS_CLOSED"] });

    expect(await transcript(id)).toEqual([
      "*: Hi &lt;Ada&gt;!",
      "*: Pick a colour",
      "ada: Red",
      "*: You said Red. How many, &lt;Ada&gt;?",
      "ada: 0",
      "*: Press continue",
      "*: High 10, count 0",
      "*: Hi &lt;Ada&gt;!",
      "*: Pick a colour",
      "ada: Blue",
      "*: Why blue?",
      "ada: calm",
      "*: Press continue",
      "*: Low",
    ]);
    wa.close();
    wb.close();
  });

  it("on_finish open hands the member back to a normal chat; others chat freely meanwhile", async () => {
    const schema = await publishedSchema({
      questions: [{ qid: 0, text: "Your age?", type: "int", required: true, next_qid: -1 }],
    });
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread("admin", [{ user_id: ada.id }, { user_id: bob.id }]);
    await setMember(id, ada.id, { state: "scripted", schema_id: schema.id });
    expect((await post(bob.token, id, { text: "anything" })).status).toBe(201);
    expect((await post(ada.token, id, { text: "forty" })).body.error.details).toEqual({
      text: ["WRONG_VALUE"],
    });
    expect((await post(ada.token, id, { text: "40" })).status).toBe(201);
    expect(await member(id, ada.id)).toMatchObject({ state: "open", question_id: null });
    expect((await post(ada.token, id, { text: "free text now" })).status).toBe(201);
  });

  it("uses the member's language, then the token's, then the schema default", async () => {
    const schema = await publishedSchema({
      questions: [
        {
          qid: 1,
          text: { en: "Colour, {{user.name}}?", de: "Farbe, {{user.name}}?" },
          type: "choice",
          answers: [{ id: 1, text: { en: "Red", de: "Rot" }, next_qid: 2 }],
        },
        { qid: 2, text: { en: "Why?", de: "Warum?" }, type: "text", next_qid: 3 },
        { qid: 3, text: "Thanks", type: "text" },
      ],
    });
    const ada = await party("ada");
    const withLang = await createThread("admin", [{ user_id: ada.id, name: "Ada", lang: "de" }]);
    await setMember(withLang, ada.id, { state: "scripted", schema_id: schema.id });
    expect(await transcript(withLang)).toEqual(["*: Farbe, Ada?"]);
    expect((await post(ada.token, withLang, { answers: ["1"] })).body.text).toBe("Rot");
    expect((await transcript(withLang)).at(-1)).toBe("*: Warum?");
    expect((await post(ada.token, withLang, { text: "weil" })).status).toBe(201);
    expect((await transcript(withLang)).at(-1)).toBe("*: Thanks");

    // No member language: the admin's PATCH posts the default; the member's German token decides
    // the texts of what follows its own answers.
    const eveId = `eve-${crypto.randomUUID()}`;
    const minted = await call("POST", "/api/tokens", {
      token: ADMIN,
      body: { user: { id: eveId, name: "Eve" }, lang: "de-AT" },
    });
    const id = await createThread("admin", [{ user_id: eveId, name: "Eve" }]);
    await setMember(id, eveId, { state: "scripted", schema_id: schema.id });
    expect(await transcript(id)).toEqual(["*: Colour, Eve?"]);
    expect((await post(minted.body.token, id, { answers: ["1"] })).body.text).toBe("Rot");
    expect((await transcript(id)).at(-1)).toBe("*: Warum?");
  });
});
