import { describe, expect, it } from "vitest";
import { QUESTION_TYPES } from "../../../src/features/chat-schemas/model";
import { applyAnswer, nextQid } from "../../../src/features/chat-schemas/navigation";
import {
  QUESTION_TYPE_REGISTRY,
  validateAnswer,
} from "../../../src/features/chat-schemas/question-types";
import {
  applyModifications,
  Condition,
  forkTarget,
  holds,
} from "../../../src/features/chat-schemas/rules";
import { draftTree, QuestionIn } from "../../../src/features/chat-schemas/schema-input";
import { schemaSettings } from "../../../src/features/chat-schemas/settings";
import { renderTemplate } from "../../../src/features/chat-schemas/template";
import { validateTree } from "../../../src/features/chat-schemas/validate-schema";
import { question } from "../../helpers/chat-fixtures";

describe("question-type registry", () => {
  it("has one entry for every type", () => {
    expect(Object.keys(QUESTION_TYPE_REGISTRY).sort()).toEqual([...QUESTION_TYPES].sort());
  });

  const choice = question(1, "choice", { required: true, answers: [{}, {}] });
  const open = question(1, "choice", { choiceOpen: true, answers: [{}, {}] });
  const multi = question(2, "multichoice", {
    required: true,
    answers: [{}, {}, { exclusive: true }],
  });
  const range = question(3, "range", { rangeFrom: 0, rangeTo: 10, required: true });
  const int = question(4, "int", { required: true });
  const float = question(5, "float", { rangeFrom: -1.5, rangeTo: 0 });

  it.each([
    ["choice without answers", choice, {}, { answers: ["REQUIRED"] }],
    ["two answers to a choice", choice, { answers: [101, 102] }, { answers: ["TOO_MANY"] }],
    ["an answer of another question", choice, { answers: [201] }, { answers: ["WRONG_VALUE"] }],
    ["the same answer twice", multi, { answers: [201, 201] }, { answers: ["WRONG_VALUE"] }],
    ["text to a closed choice", choice, { answers: [101], text: "x" }, { text: ["WRONG_STATE"] }],
    ["exclusive with others", multi, { answers: [201, 203] }, { answers: ["EXCLUSIVE"] }],
    ["multichoice without answers", multi, { answers: [] }, { answers: ["REQUIRED"] }],
    ["range below its bounds", range, { text: "-1" }, { text: ["WRONG_VALUE"] }],
    ["range above its bounds", range, { text: "10.5" }, { text: ["WRONG_VALUE"] }],
    ["range not a number", range, { text: "ten" }, { text: ["WRONG_VALUE"] }],
    ["range empty", range, { text: "  " }, { text: ["REQUIRED"] }],
    ["int with a fraction", int, { text: "1.5" }, { text: ["WRONG_VALUE"] }],
    ["float outside its bounds", float, { text: "0.1" }, { text: ["WRONG_VALUE"] }],
    [
      "answers to a text question",
      question(6, "text"),
      { answers: [1] },
      { answers: ["WRONG_VALUE"] },
    ],
    ["a bad date", question(7, "date"), { text: "2023-02-30" }, { text: ["WRONG_VALUE"] }],
    ["a bad time", question(8, "time"), { text: "24:00" }, { text: ["WRONG_VALUE"] }],
    [
      "a datetime without zone",
      question(9, "datetime"),
      { text: "2024-01-01T10:00" },
      { text: ["WRONG_VALUE"] },
    ],
    [
      "an answer to a message",
      question(10, "message"),
      { text: "x" },
      { question: ["NOT_ALLOWED"] },
    ],
  ])("refuses %s", (_name, q, input, errors) => {
    expect(validateAnswer(q, input)).toEqual({ ok: false, errors });
  });

  it.each([
    ["one choice", choice, { answers: [102] }, { answers: [102], text: null }],
    ["open text on an open choice", open, { text: " mine " }, { answers: [], text: "mine" }],
    [
      "multichoice, normalised to the answers' order",
      multi,
      { answers: [202, 201] },
      { answers: [201, 202], text: null },
    ],
    ["an exclusive answer alone", multi, { answers: [203] }, { answers: [203], text: null }],
    ["0 inside a range starting at 0", range, { text: "0" }, { answers: [], text: "0" }],
    ["an int 0", int, { text: "0" }, { answers: [], text: "0" }],
    ["a float at its upper bound 0", float, { text: "-0.0" }, { answers: [], text: "0" }],
    ["a date", question(7, "date"), { text: "2024-02-29" }, { answers: [], text: "2024-02-29" }],
    ["a time", question(8, "time"), { text: "09:30" }, { answers: [], text: "09:30:00" }],
    [
      "a datetime, canonical UTC",
      question(9, "datetime"),
      { text: "2024-01-01T10:00:00+02:00" },
      { answers: [], text: "2024-01-01T08:00:00.000Z" },
    ],
    ["a skipped optional question", question(6, "text"), {}, { answers: [], text: null }],
    [
      "anything to a control",
      question(11, "control"),
      { text: "go", answers: [5] },
      { answers: [], text: null },
    ],
  ])("accepts %s", (_name, q, input, value) => {
    expect(validateAnswer(q, input)).toEqual({ ok: true, value });
  });

  it("builds stored texts in the member's language", () => {
    const q = question(1, "multichoice", {
      choiceOpen: true,
      answers: [{ text: { en: "Red", de: "Rot" } }, { text: { en: "Blue", de: "Blau" } }],
    });
    const def = QUESTION_TYPE_REGISTRY.multichoice;
    expect(def.storedText(q, { answers: [101, 102], text: "green" }, "de-AT", "en")).toBe(
      "Rot, Blau, green",
    );
    expect(def.storedText(q, { answers: [102], text: null }, "fr", "en")).toBe("Blue");
    expect(
      QUESTION_TYPE_REGISTRY.int.storedText(
        question(2, "int"),
        { answers: [], text: "0" },
        null,
        "en",
      ),
    ).toBe("0");
  });
});

describe("navigation", () => {
  it("follows the chosen answer's next_qid, else the question's; 0 is a qid", () => {
    const q = question(1, "choice", {
      nextQid: 9,
      answers: [{ nextQid: 0 }, { nextQid: null }],
    });
    expect(nextQid(q, { answers: [101], text: null }, {})).toBe(0);
    expect(nextQid(q, { answers: [102], text: null }, {})).toBe(9);
    expect(nextQid(q, { answers: [], text: "x" }, {})).toBe(9);
  });

  it("takes a multichoice's first selected answer in the answers' own order", () => {
    const q = question(1, "multichoice", {
      answers: [
        { nextQid: 5, position: 0 },
        { nextQid: 6, position: 1 },
      ],
    });
    // The validator normalises [102, 101] to [101, 102]; navigation looks at the answers' order.
    expect(nextQid(q, { answers: [102, 101], text: null }, {})).toBe(5);
  });

  it("lets a fork pick by variables, else -1", () => {
    const fork = question(3, "fork", {
      fork: [
        { if: { var: "score", op: "gte", value: 10 }, next_qid: 7 },
        {
          if: {
            any: [{ var: "name", op: "eq", value: "Ada" }, { not: { var: "x", op: "exists" } }],
          },
          next_qid: 8,
        },
      ],
    });
    expect(nextQid(fork, { answers: [], text: null }, { score: 12 })).toBe(7);
    expect(nextQid(fork, { answers: [], text: null }, { score: 3, name: "Ada", x: 1 })).toBe(8);
    expect(nextQid(fork, { answers: [], text: null }, { score: 3, x: 1 })).toBe(-1);
  });

  it("applies the question's and the chosen answers' modifications", () => {
    const q = question(1, "multichoice", {
      variables: [{ var: "last", op: "copy_answer" }],
      answers: [
        { variables: [{ var: "score", op: "add", value: 5 }] },
        {
          variables: [
            { var: "score", op: "subtract", value: 2 },
            { var: "pick", op: "copy_answer" },
          ],
        },
        { variables: [{ var: "score", op: "set", value: 100 }] },
      ],
    });
    const pool = applyAnswer(
      { score: 1 },
      q,
      { answers: [101, 102], text: null },
      "A, B",
      null,
      "en",
    );
    expect(pool).toEqual({ score: 4, last: "A, B", pick: "Answer 1.2" });
  });
});

describe("rule language", () => {
  it("set/add/subtract/copy on a copy of the pool", () => {
    const before = { n: 2 };
    const after = applyModifications(
      before,
      [
        { var: "n", op: "add", value: 3 },
        { var: "m", op: "subtract", value: 1 },
        { var: "flag", op: "set", value: true },
        { var: "t", op: "copy_answer" },
      ],
      "hi",
    );
    expect(after).toEqual({ n: 5, m: -1, flag: true, t: "hi" });
    expect(before).toEqual({ n: 2 });
  });

  it.each([
    [{ var: "a", op: "eq", value: 1 }, { a: 1 }, true],
    [{ var: "a", op: "eq", value: 1 }, { a: "1" }, false],
    [{ var: "a", op: "ne", value: 1 }, {}, true],
    [{ var: "a", op: "gt", value: 0 }, { a: "5" }, true],
    [{ var: "a", op: "gt", value: 0 }, { a: "" }, false],
    [{ var: "a", op: "lte", value: 0 }, { a: 0 }, true],
    [{ var: "a", op: "lt", value: 0 }, {}, false],
    [{ var: "a", op: "in", value: ["x", 2] }, { a: 2 }, true],
    [{ all: [] }, {}, true],
    [{ any: [] }, {}, false],
    [{ var: "__proto__", op: "exists" }, {}, false],
    [{ var: "constructor", op: "eq", value: null }, {}, false],
  ] as const)("%j over %j is %s", (cond, pool, expected) => {
    expect(holds(Condition.parse(cond), pool)).toBe(expected);
  });

  it("refuses anything that is not a rule", () => {
    expect(Condition.safeParse({ var: "a", op: "eval", value: "1" }).success).toBe(false);
    expect(Condition.safeParse({ code: "process.exit()" }).success).toBe(false);
    expect(Condition.safeParse({ var: "a b", op: "exists" }).success).toBe(false);
    expect(forkTarget([], {})).toBe(-1);
  });
});

describe("templates", () => {
  const ctx = {
    user: { name: "<b>Ada</b>", id: "u1", age: 36 },
    answers: { "1": "Red & Blue" },
    vars: { score: 0 },
    thread: { title: "Support" },
  };

  it("renders every root, escaping values and keeping the template", () => {
    expect(
      renderTemplate(
        "<p>Hi {{user.name}} ({{ user.age }}), you said {{answers.1}}; score {{vars.score}} in {{thread.title}}</p>",
        ctx,
      ),
    ).toBe("<p>Hi &lt;b&gt;Ada&lt;/b&gt; (36), you said Red &amp; Blue; score 0 in Support</p>");
  });

  it("renders missing values and prototype keys as empty", () => {
    expect(
      renderTemplate(
        "[{{user.email}}][{{answers.9}}][{{vars.constructor}}][{{vars.__proto__}}]",
        ctx,
      ),
    ).toBe("[][][][]");
    expect(renderTemplate("{{other.x}} {{user}}", ctx)).toBe("{{other.x}} {{user}}");
  });
});

describe("schema validation on save", () => {
  const tree = (questions: unknown[]) =>
    draftTree(
      [],
      questions.map((q) => QuestionIn.parse(q)),
      "en",
    );

  it("accepts zeros as values: qid 0, position 0, next_qid 0, range from 0", () => {
    const errors = validateTree(
      tree([
        { qid: 0, position: 0, text: "a", type: "range", range_from: 0, range_to: 5, next_qid: 1 },
        {
          qid: 1,
          position: 1,
          text: "b",
          type: "choice",
          answers: [{ text: "again", next_qid: 0 }],
        },
      ]),
      "en",
    );
    expect(errors).toEqual({});
  });

  it.each([
    [
      "a dangling next_qid",
      [{ qid: 1, text: "a", type: "text", next_qid: 7 }],
      { "questions.0.next_qid": ["WRONG_VALUE"] },
    ],
    [
      "duplicate qids and positions",
      [
        { qid: 1, position: 0, text: "a", type: "text" },
        { qid: 1, position: 0, text: "b", type: "text" },
      ],
      { "questions.1.qid": ["WRONG_VALUE"], "questions.1.position": ["WRONG_VALUE"] },
    ],
    [
      "a range without bounds",
      [{ qid: 1, text: "a", type: "range", range_to: 3 }],
      { "questions.0.range_from": ["REQUIRED"] },
    ],
    [
      "bounds reversed",
      [{ qid: 1, text: "a", type: "int", range_from: 3, range_to: 1 }],
      { "questions.0.range_to": ["WRONG_VALUE"] },
    ],
    [
      "a choice without answers",
      [{ qid: 1, text: "a", type: "choice" }],
      { "questions.0.answers": ["REQUIRED"] },
    ],
    [
      "answers on a text question",
      [{ qid: 1, text: "a", type: "text", answers: [{ text: "x" }] }],
      { "questions.0.answers": ["NOT_ALLOWED"] },
    ],
    [
      "a required message",
      [{ qid: 1, text: "a", type: "message", required: true }],
      { "questions.0.required": ["NOT_ALLOWED"] },
    ],
    [
      "a dangling answer next_qid",
      [{ qid: 1, text: "a", type: "choice", answers: [{ text: "x", next_qid: 3 }] }],
      { "questions.0.answers.0.next_qid": ["WRONG_VALUE"] },
    ],
    [
      "duplicate answer ids",
      [
        {
          qid: 1,
          text: "a",
          type: "choice",
          answers: [
            { id: 5, text: "x" },
            { id: 5, text: "y" },
          ],
        },
      ],
      { "questions.0.answers.1.id": ["WRONG_VALUE"] },
    ],
    [
      "a fork rule to nowhere",
      [{ qid: 1, text: "a", type: "fork", fork: [{ if: { all: [] }, next_qid: 5 }] }],
      { "questions.0.fork.0.next_qid": ["WRONG_VALUE"] },
    ],
    [
      "a message loop",
      [
        { qid: 1, text: "a", type: "message", next_qid: 2 },
        { qid: 2, text: "b", type: "message", next_qid: 1 },
      ],
      { "questions.0.next_qid": ["WRONG_VALUE"], "questions.1.next_qid": ["WRONG_VALUE"] },
    ],
    [
      "text without the default language",
      [{ qid: 1, text: { de: "a" }, type: "text" }],
      { "questions.0.text": ["REQUIRED"] },
    ],
  ])("refuses %s", (_name, questions, expected) => {
    const errors = validateTree(tree(questions), "en");
    for (const [path, codes] of Object.entries(expected)) {
      expect(errors[path], path).toEqual(codes);
    }
  });

  it("lets a choice loop back to itself (waiting for the member each time)", () => {
    expect(validateTree(tree([{ qid: 1, text: "a", type: "text", next_qid: 1 }]), "en")).toEqual(
      {},
    );
  });
});

describe("settings", () => {
  it("has defaults and env overrides", () => {
    expect(schemaSettings({}).surveyTypes).toEqual(["survey"]);
    const s = schemaSettings({
      CHAT_SCHEMA_SETTINGS: JSON.stringify({ survey_types: ["chat"], default_lang: "de" }),
      ALLOW_EDIT_PUBLISHED_SCHEMAS: "true",
    });
    expect(s).toMatchObject({ surveyTypes: ["chat"], defaultLang: "de", allowEditPublished: true });
    expect(() => schemaSettings({ CHAT_SCHEMA_SETTINGS: '{"nope": 1}' })).toThrow(
      /CHAT_SCHEMA_SETTINGS/,
    );
  });
});
