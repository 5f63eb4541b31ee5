import {
  type AcceptedAnswer,
  type AnswerInput,
  type AnswerResult,
  accepted,
  CODES,
  refused,
} from "./answer-input";
import { localize, type Question, type QuestionType } from "./model";
import {
  parseDate,
  parseDatetime,
  parseFloatStrict,
  parseInteger,
  parseTime,
  withinRange,
} from "./parse-values";

/**
 * One entry per question type: how an answer is checked, and what text stands for it in the
 * thread (the message a scripted member's answer becomes) and in `{{answers.<qid>}}`.
 */
export interface QuestionTypeDef {
  /** Flow types take no answer: `message` and `fork` advance by themselves, `control` on any post. */
  flow: boolean;
  /** The type offers answers (`choice`, `multichoice`); others must not define any. */
  hasAnswers: boolean;
  /** Needs both bounds (`range`); `int` and `float` may have either or none. */
  needsBounds: boolean;
  validate(question: Question, input: AnswerInput): AnswerResult;
  storedText(
    question: Question,
    answer: AcceptedAnswer,
    lang: string | null,
    fallback: string,
  ): string;
}

const hasText = (input: AnswerInput) => typeof input.text === "string" && input.text.trim() !== "";

/** Checks the ids: each must be an answer of this question, none twice; returns them ordered. */
function ownAnswers(question: Question, ids: number[]): number[] | null {
  if (new Set(ids).size !== ids.length) return null;
  const own = question.answers.filter((a) => ids.includes(a.aid)).map((a) => a.aid);
  return own.length === ids.length ? own : null;
}

function validateChoice(question: Question, input: AnswerInput, multiple: boolean): AnswerResult {
  const ids = input.answers ?? [];
  const chosen = ownAnswers(question, ids);
  if (!chosen) return refused("answers", CODES.wrongValue);
  const text = hasText(input) ? (input.text ?? "").trim() : null;
  if (text !== null && !question.choiceOpen) return refused("text", CODES.wrongState);
  if (!multiple && chosen.length > 1) return refused("answers", CODES.tooMany);
  if (multiple && chosen.length > 1) {
    const exclusive = question.answers.some((a) => a.exclusive && chosen.includes(a.aid));
    if (exclusive) return refused("answers", CODES.exclusive);
  }
  if (!chosen.length && text === null && question.required) {
    return refused("answers", CODES.required);
  }
  return accepted(chosen, text);
}

function choiceText(q: Question, a: AcceptedAnswer, lang: string | null, fallback: string) {
  const parts = q.answers
    .filter((x) => a.answers.includes(x.aid))
    .map((x) => localize(x.text, lang, fallback));
  if (a.text !== null) parts.push(a.text);
  return parts.join(", ");
}

/** Types answered by text alone, parsed into a canonical text. */
function typedText(parse: (question: Question, text: string) => string | null): QuestionTypeDef {
  return {
    flow: false,
    hasAnswers: false,
    needsBounds: false,
    validate(question, input) {
      if (input.answers?.length) return refused("answers", CODES.wrongValue);
      if (!hasText(input)) {
        return question.required ? refused("text", CODES.required) : accepted([], null);
      }
      const value = parse(question, (input.text ?? "").trim());
      return value === null ? refused("text", CODES.wrongValue) : accepted([], value);
    },
    storedText: (_q, a) => a.text ?? "",
  };
}

function numeric(parse: (text: string) => number | null) {
  return (question: Question, text: string): string | null => {
    const n = parse(text);
    if (n === null || !withinRange(n, question.rangeFrom, question.rangeTo)) return null;
    return String(n);
  };
}

const flowType = (validate: QuestionTypeDef["validate"]): QuestionTypeDef => ({
  flow: true,
  hasAnswers: false,
  needsBounds: false,
  validate,
  storedText: () => "",
});

export const QUESTION_TYPE_REGISTRY: Record<QuestionType, QuestionTypeDef> = {
  choice: {
    flow: false,
    hasAnswers: true,
    needsBounds: false,
    validate: (q, input) => validateChoice(q, input, false),
    storedText: choiceText,
  },
  multichoice: {
    flow: false,
    hasAnswers: true,
    needsBounds: false,
    validate: (q, input) => validateChoice(q, input, true),
    storedText: choiceText,
  },
  text: typedText((_q, text) => (text.length <= 10_000 ? text : null)),
  date: typedText((_q, text) => parseDate(text)),
  time: typedText((_q, text) => parseTime(text)),
  datetime: typedText((_q, text) => parseDatetime(text)),
  int: typedText(numeric(parseInteger)),
  float: typedText(numeric(parseFloatStrict)),
  range: { ...typedText(numeric(parseFloatStrict)), needsBounds: true },
  /** Shown, then the conversation goes on at once; nothing to answer. */
  message: flowType(() => refused("question", CODES.notAllowed)),
  /** Shown; any post from the member moves on, and nothing of the post is stored. */
  control: flowType(() => accepted([], null)),
  /** Never shown: its rules pick the next question from the member's variables. */
  fork: flowType(() => refused("question", CODES.notAllowed)),
};

export function questionType(type: QuestionType): QuestionTypeDef {
  return QUESTION_TYPE_REGISTRY[type];
}

export function validateAnswer(question: Question, input: AnswerInput): AnswerResult {
  return questionType(question.type).validate(question, input);
}
