import { END, initialQuestion, type Question } from "../chat-schemas";

/** What the state computation needs of a survey item. */
export interface ItemFacts {
  qid: number;
  answers: number[];
}

export interface SurveyState {
  visibility: number[];
  completed: boolean;
}

/**
 * The contract's algorithm (contract §7), to a fixed point:
 * - the lowest-position question is visible;
 * - a visible question makes its `next_qid` visible;
 * - an answer to a visible question makes its chosen answers' `next_qid` visible.
 * `completed` is true when every visible required question has an item. Items of questions that
 * are not visible are kept by the caller but count for nothing here.
 * `visibility` lists qids in question order.
 */
export function surveyState(
  questions: readonly Question[],
  items: readonly ItemFacts[],
): SurveyState {
  const byQid = new Map(questions.map((q) => [q.qid, q]));
  const itemByQid = new Map(items.map((i) => [i.qid, i]));
  const visible = new Set<number>();
  const pending: number[] = [];
  const reveal = (qid: number | null) => {
    if (qid === null || qid === END || visible.has(qid) || !byQid.has(qid)) return;
    visible.add(qid);
    pending.push(qid);
  };

  const first = initialQuestion({ questions: [...questions] });
  if (first) reveal(first.qid);
  for (let qid = pending.pop(); qid !== undefined; qid = pending.pop()) {
    const question = byQid.get(qid);
    if (!question) continue;
    reveal(question.nextQid);
    const item = itemByQid.get(qid);
    if (!item) continue;
    for (const answer of question.answers) {
      if (item.answers.includes(answer.aid)) reveal(answer.nextQid);
    }
  }

  const ordered = [...questions]
    .sort((a, b) => a.position - b.position)
    .filter((q) => visible.has(q.qid));
  return {
    visibility: ordered.map((q) => q.qid),
    completed: ordered.every((q) => !q.required || itemByQid.has(q.qid)),
  };
}
