import type { FieldErrors } from "../../platform/errors";
import {
  type AcceptedAnswer,
  type AnswerInput,
  CODES,
  findQuestion,
  type Question,
  questionType,
  type Schema,
  validateAnswer,
} from "../chat-schemas";

export type ItemCheck =
  | { ok: true; question: Question; answer: AcceptedAnswer }
  | { ok: false; errors: FieldErrors };

/**
 * A survey item is validated like a scripted answer: the question must be one of the survey's
 * schema, answerable (not a flow type), and the answer valid for its type.
 */
export function checkItem(schema: Schema, ref: number | string, input: AnswerInput): ItemCheck {
  const question = findQuestion(schema, ref);
  if (!question) return { ok: false, errors: { question: [CODES.wrongSchema] } };
  if (questionType(question.type).flow) {
    return { ok: false, errors: { question: [CODES.notAllowed] } };
  }
  const result = validateAnswer(question, input);
  return result.ok ? { ok: true, question, answer: result.value } : result;
}
