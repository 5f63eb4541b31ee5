import type { Answer, Question, QuestionType } from "../../src/features/chat-schemas/model";

/** A domain question with defaults, for pure tests. */
export function question(
  qid: number,
  type: QuestionType,
  extra: Partial<Omit<Question, "answers">> & { answers?: Partial<Answer>[] } = {},
): Question {
  const { answers = [], ...rest } = extra;
  return {
    id: `q-${qid}`,
    qid,
    position: qid,
    groupGid: null,
    text: { en: `Question ${qid}` },
    type,
    showAsType: type,
    required: false,
    nextQid: -1,
    choiceOpen: false,
    rangeFrom: null,
    rangeTo: null,
    meta: {},
    variables: [],
    fork: [],
    ...rest,
    answers: answers.map((a, i) => ({
      aid: qid * 100 + i + 1,
      text: { en: `Answer ${qid}.${i + 1}` },
      position: i,
      nextQid: null,
      exclusive: false,
      meta: {},
      variables: [],
      ...a,
    })),
  };
}

/** A schema body for POST /api/schemas. */
export function schemaBody(name = `s-${crypto.randomUUID()}`, extra: Record<string, unknown> = {}) {
  return {
    name,
    type: "survey",
    questions: [
      {
        qid: 1,
        position: 0,
        text: {
          en: "Hello {{user.name}}, pick a colour",
          de: "Hallo {{user.name}}, wähle eine Farbe",
        },
        type: "choice",
        required: true,
        next_qid: -1,
        answers: [
          { id: 11, text: "Red", next_qid: 2 },
          { id: 12, text: "Blue", next_qid: 3 },
        ],
      },
      { qid: 2, position: 1, text: "Why red?", type: "text", required: true, next_qid: 4 },
      {
        qid: 3,
        position: 2,
        text: "How blue (0-10)?",
        type: "range",
        range_from: 0,
        range_to: 10,
        required: true,
        next_qid: 4,
      },
      { qid: 4, position: 3, text: "Any comment?", type: "text", next_qid: -1 },
    ],
    ...extra,
  };
}
