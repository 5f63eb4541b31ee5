import type { FieldErrors } from "../../platform/errors";
import { CODES } from "./answer-input";
import { END, type LocalizedText } from "./model";
import { questionType } from "./question-types";
import { conditionDepth, MAX_CONDITION_DEPTH } from "./rules";
import type { TreeDraft } from "./schema-input";

/**
 * Checks a question tree before it is saved. Paths follow the request body
 * (`questions.2.next_qid`), codes are the chat API's. Every numeric field is checked with
 * `null`/`undefined` in mind, never truthiness: qid 0, position 0 and a range bound of 0 are
 * values (the original treated a `0` bound as missing).
 */
export function validateTree(tree: TreeDraft, defaultLang: string): FieldErrors {
  const errors: FieldErrors = {};
  const add = (path: string, code: string) => {
    const list = errors[path] ?? [];
    if (!list.includes(code)) list.push(code);
    errors[path] = list;
  };
  const needLang = (path: string, text: LocalizedText) => {
    if (!Object.hasOwn(text, defaultLang)) add(path, CODES.required);
  };

  const gids = new Set<number>();
  tree.groups.forEach((g, i) => {
    if (gids.has(g.gid)) add(`groups.${i}.id`, CODES.wrongValue);
    gids.add(g.gid);
    needLang(`groups.${i}.name`, g.name);
  });

  const qids = new Set<number>();
  const positions = new Set<number>();
  const aids = new Set<number>();
  tree.questions.forEach((q, i) => {
    if (qids.has(q.qid)) add(`questions.${i}.qid`, CODES.wrongValue);
    qids.add(q.qid);
    if (positions.has(q.position)) add(`questions.${i}.position`, CODES.wrongValue);
    positions.add(q.position);
  });
  const known = (qid: number | null) => qid === null || qid === END || qids.has(qid);

  tree.questions.forEach((q, i) => {
    const at = `questions.${i}`;
    const def = questionType(q.type);
    needLang(`${at}.text`, q.text);
    if (q.groupGid !== null && !gids.has(q.groupGid)) add(`${at}.group`, CODES.wrongValue);
    if (!known(q.nextQid)) add(`${at}.next_qid`, CODES.wrongValue);
    if (def.flow && q.required) add(`${at}.required`, CODES.notAllowed);
    if (q.choiceOpen && !def.hasAnswers) add(`${at}.choice_open`, CODES.notAllowed);

    const numeric = q.type === "int" || q.type === "float" || q.type === "range";
    if (!numeric && (q.rangeFrom !== null || q.rangeTo !== null)) {
      add(`${at}.${q.rangeFrom !== null ? "range_from" : "range_to"}`, CODES.notAllowed);
    }
    if (def.needsBounds) {
      if (q.rangeFrom === null) add(`${at}.range_from`, CODES.required);
      if (q.rangeTo === null) add(`${at}.range_to`, CODES.required);
    }
    if (q.rangeFrom !== null && q.rangeTo !== null && q.rangeFrom > q.rangeTo) {
      add(`${at}.range_to`, CODES.wrongValue);
    }

    if (q.type !== "fork" && q.fork.length) add(`${at}.fork`, CODES.notAllowed);
    q.fork.forEach((rule, k) => {
      if (!known(rule.next_qid)) add(`${at}.fork.${k}.next_qid`, CODES.wrongValue);
      if (conditionDepth(rule.if) > MAX_CONDITION_DEPTH)
        add(`${at}.fork.${k}.if`, CODES.wrongValue);
    });

    if (def.hasAnswers && !q.answers.length) add(`${at}.answers`, CODES.required);
    if (!def.hasAnswers && q.answers.length) add(`${at}.answers`, CODES.notAllowed);
    const answerPositions = new Set<number>();
    q.answers.forEach((a, j) => {
      const path = `${at}.answers.${j}`;
      if (aids.has(a.aid)) add(`${path}.id`, CODES.wrongValue);
      aids.add(a.aid);
      if (answerPositions.has(a.position)) add(`${path}.position`, CODES.wrongValue);
      answerPositions.add(a.position);
      if (!known(a.nextQid)) add(`${path}.next_qid`, CODES.wrongValue);
      needLang(`${path}.text`, a.text);
    });
  });

  for (const i of autoAdvanceCycle(tree)) add(`questions.${i}.next_qid`, CODES.wrongValue);
  return errors;
}

/**
 * Indexes of questions on a cycle made only of `message` and `fork` questions: those advance
 * without waiting for anyone, so such a cycle would never stop.
 */
function autoAdvanceCycle(tree: TreeDraft): number[] {
  const index = new Map(tree.questions.map((q, i) => [q.qid, i]));
  const edges = (i: number): number[] => {
    const q = tree.questions[i];
    if (!q || (q.type !== "message" && q.type !== "fork")) return [];
    const targets = q.type === "fork" ? q.fork.map((r) => r.next_qid) : [q.nextQid];
    return targets.flatMap((t) => {
      const j = index.get(t);
      return j === undefined ? [] : [j];
    });
  };
  const state = new Map<number, "open" | "done">();
  const onCycle = new Set<number>();
  const visit = (i: number, path: number[]) => {
    if (state.get(i) === "done") return;
    if (state.get(i) === "open") {
      for (const k of path.slice(path.indexOf(i))) onCycle.add(k);
      return;
    }
    state.set(i, "open");
    for (const j of edges(i)) visit(j, [...path, i]);
    state.set(i, "done");
  };
  tree.questions.forEach((_q, i) => {
    visit(i, []);
  });
  return [...onCycle];
}
