import type { AcceptedAnswer, Question } from "../chat-schemas";
import { CODES, questionType } from "../chat-schemas";
import type { PostDraft } from "../threads";
import { chatInvalid } from "../threads";
import { escapeHtml, unescapeHtml } from "./text";

/**
 * Checks a member's post as an answer to `question` and rewrites the draft into the stored
 * answer: the canonical text (a choice's answer texts, a parsed date...), the answer ids in
 * the answers' own order, the related question. Throws 400 with the chat codes; a `control`
 * question accepts anything and stores nothing (the route answers 204).
 */
export function acceptAnswer(
  question: Question,
  draft: PostDraft,
  lang: string | null,
  fallback: string,
): { answer: AcceptedAnswer; storedText: string } {
  const ids = (draft.answers ?? []).map((a) => (/^\d{1,10}$/.test(a) ? Number(a) : Number.NaN));
  if (ids.some(Number.isNaN)) throw chatInvalid({ answers: [CODES.wrongValue] });
  const def = questionType(question.type);
  const result = def.validate(question, { answers: ids, text: unescapeHtml(draft.text) });
  if (!result.ok) throw chatInvalid(result.errors, "Not a valid answer to the question");
  if (question.type === "control") {
    draft.store = false;
    return { answer: result.value, storedText: "" };
  }
  const storedText = def.storedText(question, result.value, lang, fallback);
  draft.text = escapeHtml(storedText);
  draft.answers = result.value.answers.map(String);
  draft.relatedQuestionId = question.id;
  return { answer: result.value, storedText };
}
