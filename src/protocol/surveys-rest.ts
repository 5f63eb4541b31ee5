import { z } from "zod";
import { AnswerRef, QuestionRef } from "./answer-refs";

/**
 * The surveys REST shapes (contract §7): the routes validate and document with these schemas,
 * the SDK and the chat page use the types inferred from them. `meta({ id })` names them in the
 * OpenAPI document.
 */

/** Which questions are visible now, by position, and whether every visible one is answered. */
export const SurveyState = z.object({
  visibility: z.array(z.number().int()),
  completed: z.boolean(),
});

export const Survey = z
  .object({
    id: z.string(),
    user_id: z.string(),
    schema_id: z.string(),
    state: SurveyState,
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: "Survey" });

const Answers = z.array(AnswerRef).max(100);
const Text = z.string().max(10_000).nullable();

export const SurveyItemInput = z
  .object({
    question: QuestionRef,
    answers: Answers.optional(),
    text: Text.optional(),
  })
  .strict()
  .meta({ id: "SurveyItemInput" });

export const SurveyItemPatch = z
  .object({ answers: Answers.optional(), text: Text.optional() })
  .strict()
  .meta({ id: "SurveyItemPatch" });

export const SurveyItem = z
  .object({
    id: z.string(),
    survey_id: z.string(),
    question: z.number().int(),
    question_id: z.string(),
    answers: z.array(z.number().int()),
    text: z.string().nullable(),
    position: z.number().int(),
    survey_state: SurveyState,
  })
  .meta({ id: "SurveyItem" });

export type SurveyState = z.infer<typeof SurveyState>;
export type Survey = z.infer<typeof Survey>;
export type SurveyItemInput = z.input<typeof SurveyItemInput>;
export type SurveyItemPatch = z.input<typeof SurveyItemPatch>;
export type SurveyItem = z.infer<typeof SurveyItem>;
