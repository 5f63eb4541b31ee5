import type { FieldErrors } from "../../platform/errors";

/** What a client sends as an answer (a scripted message, a survey item). */
export interface AnswerInput {
  answers?: number[] | undefined;
  text?: string | null | undefined;
}

/** A valid answer, normalised: answer ids in the answers' own order, text canonical or null. */
export interface AcceptedAnswer {
  answers: number[];
  text: string | null;
}

export type AnswerResult = { ok: true; value: AcceptedAnswer } | { ok: false; errors: FieldErrors };

export const accepted = (answers: number[], text: string | null): AnswerResult => ({
  ok: true,
  value: { answers, text },
});

export const refused = (field: "answers" | "text" | "question", code: string): AnswerResult => ({
  ok: false,
  errors: { [field]: [code] },
});

/** The chat API's field codes (contract §7). */
export const CODES = {
  required: "REQUIRED",
  wrongValue: "WRONG_VALUE",
  wrongState: "WRONG_STATE",
  tooMany: "TOO_MANY",
  exclusive: "EXCLUSIVE",
  wrongSchema: "QUESTION_FROM_WRONG_SCHEMA",
  alreadyAnswered: "ALREADY_ANSWERED",
  notAllowed: "NOT_ALLOWED",
} as const;
