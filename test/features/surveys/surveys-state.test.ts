import { describe, expect, it } from "vitest";
import type { Question } from "../../../src/features/chat-schemas/model";
import { type ItemFacts, surveyState } from "../../../src/features/surveys/state";
import { question } from "../../helpers/chat-fixtures";

/**
 * A branching survey:
 *   1 (choice, required): 101 → 2, 102 → 3; question's next_qid -1
 *   2 (text, required) → 4
 *   3 (multichoice, required): 301 → 5, 302 → 6; question's next_qid 4
 *   4 (text, optional) → -1
 *   5 (int, required) → -1
 *   6 (text, required) → -1
 *   7 (text, required): never pointed at
 */
const branching: Question[] = [
  question(1, "choice", { required: true, answers: [{ nextQid: 2 }, { nextQid: 3 }] }),
  question(2, "text", { required: true, nextQid: 4 }),
  question(3, "multichoice", {
    required: true,
    nextQid: 4,
    answers: [{ nextQid: 5 }, { nextQid: 6 }],
  }),
  question(4, "text", { nextQid: -1 }),
  question(5, "int", { required: true }),
  question(6, "text", { required: true }),
  question(7, "text", { required: true }),
];

const item = (qid: number, answers: number[] = []): ItemFacts => ({ qid, answers });

describe("survey state: the contract's visibility algorithm", () => {
  it.each<[string, Question[], ItemFacts[], number[], boolean]>([
    ["an empty survey shows the first question only", branching, [], [1], false],
    ["the chosen answer opens its branch", branching, [item(1, [101])], [1, 2, 4], false],
    ["the branch answered completes it", branching, [item(1, [101]), item(2)], [1, 2, 4], true],
    [
      "the other answer hides the whole first branch; its answer is kept but counts for nothing",
      branching,
      [item(1, [102]), item(2)],
      [1, 3, 4],
      false,
    ],
    [
      "every selected multichoice answer opens its next_qid",
      branching,
      [item(1, [102]), item(3, [301, 302])],
      [1, 3, 4, 5, 6],
      false,
    ],
    [
      "required-but-invisible questions (7) do not block completion",
      branching,
      [item(1, [102]), item(3, [301]), item(5)],
      [1, 3, 4, 5],
      true,
    ],
    ["an answer to an invisible question opens nothing", branching, [item(3, [302])], [1], false],
    [
      "the first question is the lowest position, not the lowest qid",
      [question(9, "text", { position: 5 }), question(8, "text", { position: 1, nextQid: 9 })],
      [],
      [8, 9],
      true,
    ],
    [
      "qid 0 is a question like any other",
      [
        question(0, "text", { required: true, position: 0, nextQid: 1 }),
        question(1, "text", { position: 1 }),
      ],
      [item(0)],
      [0, 1],
      true,
    ],
    ["a schema without questions is complete", [], [], [], true],
    [
      "a loop terminates",
      [question(1, "text", { nextQid: 2 }), question(2, "text", { nextQid: 1 })],
      [],
      [1, 2],
      true,
    ],
  ])("%s", (_name, questions, items, visibility, completed) => {
    expect(surveyState(questions, items)).toEqual({ visibility, completed });
  });
});
