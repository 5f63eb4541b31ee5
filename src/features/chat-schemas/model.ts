import type { ForkRule, Modification } from "./rules";
import type { LocalizedText } from "./schema";

export type { LocalizedText };

/** Every question type; the last three are flow types that take no answer of their own. */
export const QUESTION_TYPES = [
  "choice",
  "multichoice",
  "text",
  "date",
  "time",
  "datetime",
  "int",
  "float",
  "range",
  "message",
  "control",
  "fork",
] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

/** `next_qid` value that ends the conversation. */
export const END = -1;

export interface Answer {
  /** The id clients send in `answers`, unique in its schema and kept by copies. */
  aid: number;
  text: LocalizedText;
  position: number;
  nextQid: number | null;
  exclusive: boolean;
  meta: Record<string, unknown>;
  variables: Modification[];
}

export interface Question {
  id: string;
  qid: number;
  position: number;
  groupGid: number | null;
  text: LocalizedText;
  type: QuestionType;
  showAsType: string;
  required: boolean;
  nextQid: number;
  choiceOpen: boolean;
  rangeFrom: number | null;
  rangeTo: number | null;
  meta: Record<string, unknown>;
  variables: Modification[];
  fork: ForkRule[];
  /** Ordered by position. */
  answers: Answer[];
}

export interface Group {
  gid: number;
  name: LocalizedText;
  position: number;
}

export interface SchemaSummary {
  id: string;
  name: string;
  type: string;
  version: number;
  published: boolean;
  deprecated: boolean;
  defaultLang: string;
  createdAt: string;
  publishedAt: string | null;
}

export interface Schema extends SchemaSummary {
  groups: Group[];
  /** Ordered by position. */
  questions: Question[];
}

/** The question a conversation or survey starts at: the lowest position. */
export function initialQuestion(schema: Pick<Schema, "questions">): Question | undefined {
  let first: Question | undefined;
  for (const q of schema.questions) if (!first || q.position < first.position) first = q;
  return first;
}

export function questionByQid(schema: Pick<Schema, "questions">, qid: number) {
  return schema.questions.find((q) => q.qid === qid);
}

/**
 * The text in the caller's language: the exact tag, then its base (`de` for `de-AT`), then the
 * schema's default, then whatever language there is.
 */
export function localize(texts: LocalizedText, lang: string | null | undefined, fallback: string) {
  if (lang) {
    if (Object.hasOwn(texts, lang)) return texts[lang] ?? "";
    const base = lang.split("-")[0] ?? lang;
    if (Object.hasOwn(texts, base)) return texts[base] ?? "";
  }
  if (Object.hasOwn(texts, fallback)) return texts[fallback] ?? "";
  return Object.values(texts)[0] ?? "";
}

/**
 * A client's reference to a question of `schema`: its `qid` (number) or its id (string).
 * Undefined when the schema has no such question (`QUESTION_FROM_WRONG_SCHEMA`).
 */
export function findQuestion(schema: Pick<Schema, "questions">, ref: number | string) {
  return typeof ref === "number"
    ? questionByQid(schema, ref)
    : schema.questions.find((q) => q.id === ref);
}
