import type { AcceptedAnswer } from "./answer-input";
import { localize, type Question } from "./model";
import { applyModifications, forkTarget, type Variables } from "./rules";

/**
 * Where a conversation goes after `question` was answered: the chosen answer's `next_qid`, else
 * the question's. For `multichoice` the chosen answer is the first selected one in the answers'
 * own order (not the order the client sent). A `fork` asks its rules. `0` is a qid like any other.
 */
export function nextQid(question: Question, answer: AcceptedAnswer, pool: Variables): number {
  if (question.type === "fork") return forkTarget(question.fork, pool);
  const first = question.answers.find((a) => answer.answers.includes(a.aid));
  return first?.nextQid ?? question.nextQid;
}

/**
 * The pool after an answer: the question's modifications (with the stored answer text), then
 * each chosen answer's, in the answers' order (with that answer's own text).
 */
export function applyAnswer(
  pool: Variables,
  question: Question,
  answer: AcceptedAnswer,
  storedText: string,
  lang: string | null,
  fallback: string,
): Variables {
  let out = applyModifications(pool, question.variables, storedText);
  for (const a of question.answers) {
    if (!answer.answers.includes(a.aid)) continue;
    out = applyModifications(out, a.variables, localize(a.text, lang, fallback));
  }
  return out;
}
