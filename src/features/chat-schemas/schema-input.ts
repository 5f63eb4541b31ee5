// Adds .openapi() to zod's schemas (extendZodWithOpenApi) before this module runs.
import "@hono/zod-openapi";
import { z } from "zod";
import { FreeObject, jsonBytes, MAX_META_BYTES } from "../threads";
import type { Answer, Group, LocalizedText, Question } from "./model";
import { QUESTION_TYPES } from "./model";
import { ForkRule, Modification } from "./rules";

/** The request bodies of the schema routes, and their normalisation into the domain model. */

export const LangTag = z
  .string()
  .max(35)
  .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, "a language tag such as en or pt-BR");

const Localized = z
  .union([z.string().min(1).max(10_000), z.record(LangTag, z.string().min(1).max(10_000))])
  .openapi({ description: 'A text, or texts per language: `{"en": "...", "de": "..."}`' });

/** A question's or answer's `meta`: copied into every question message, so bounded like one. */
const Meta = FreeObject.refine((meta) => jsonBytes(meta) <= MAX_META_BYTES, {
  message: "meta is over 8 KiB",
}).openapi({ description: "Any JSON object of at most 8 KiB (8,192 bytes) as JSON" });
const Qid = z.number().int().min(0).max(1_000_000);
const NextQid = z.number().int().min(-1).max(1_000_000);

export const AnswerIn = z
  .object({
    id: z.number().int().min(0).max(1_000_000_000).optional().openapi({
      description: "The id clients answer with; unique in the schema; assigned when omitted",
    }),
    text: Localized,
    position: z.number().int().min(0).optional(),
    next_qid: NextQid.nullable().optional(),
    exclusive: z.boolean().default(false),
    meta: Meta.default({}),
    variables: z.array(Modification).max(50).default([]),
  })
  .strict();

export const QuestionIn = z
  .object({
    qid: Qid,
    position: z.number().int().min(0).optional(),
    text: Localized,
    type: z.enum(QUESTION_TYPES),
    show_as_type: z.string().min(1).max(64).optional(),
    required: z.boolean().default(false),
    next_qid: NextQid.default(-1),
    choice_open: z.boolean().default(false),
    range_from: z.number().finite().nullable().optional(),
    range_to: z.number().finite().nullable().optional(),
    group: z.number().int().min(0).nullable().optional(),
    meta: Meta.default({}),
    variables: z.array(Modification).max(50).default([]),
    fork: z.array(ForkRule).max(50).default([]),
    answers: z.array(AnswerIn).max(100).default([]),
  })
  .strict()
  .openapi("QuestionInput");

export const GroupIn = z
  .object({
    id: z.number().int().min(0),
    name: Localized,
    position: z.number().int().min(0).optional(),
  })
  .strict();

const tree = {
  default_lang: LangTag.optional(),
  groups: z.array(GroupIn).max(100).default([]),
  questions: z.array(QuestionIn).max(500).default([]),
};

export const SchemaCreate = z
  .object({
    name: z.string().trim().min(1).max(200),
    type: z.string().min(1).max(64).openapi({
      description:
        "One of the deployment's schema types (else `NOT_ALLOWED`); by default the original's `survey` and `automated_flow`, and `chat`, `internal`",
    }),
    ...tree,
  })
  .strict()
  .openapi("SchemaInput");

export const SchemaPatch = z
  .object({
    type: z.string().min(1).max(64).optional(),
    default_lang: LangTag.optional(),
    groups: z.array(GroupIn).max(100).optional(),
    questions: z.array(QuestionIn).max(500).optional(),
  })
  .strict()
  .openapi("SchemaPatch");

export type QuestionIn = z.output<typeof QuestionIn>;
export type GroupIn = z.output<typeof GroupIn>;

export function toLocalized(value: string | Record<string, string>, lang: string): LocalizedText {
  return typeof value === "string" ? { [lang]: value } : { ...value };
}

/** A question tree without database ids; questions keep the input's order for error paths. */
export interface TreeDraft {
  groups: Group[];
  questions: Omit<Question, "id">[];
}

/** Normalises the input: texts per language, positions defaulting to the list order, answer ids. */
export function draftTree(groups: GroupIn[], questions: QuestionIn[], lang: string): TreeDraft {
  let nextAid = 1 + Math.max(0, ...questions.flatMap((q) => q.answers.map((a) => a.id ?? 0)));
  return {
    groups: groups.map((g, i) => ({
      gid: g.id,
      name: toLocalized(g.name, lang),
      position: g.position ?? i,
    })),
    questions: questions.map((q, i) => ({
      qid: q.qid,
      position: q.position ?? i,
      groupGid: q.group ?? null,
      text: toLocalized(q.text, lang),
      type: q.type,
      showAsType: q.show_as_type ?? q.type,
      required: q.required,
      nextQid: q.next_qid,
      choiceOpen: q.choice_open,
      rangeFrom: q.range_from ?? null,
      rangeTo: q.range_to ?? null,
      meta: q.meta,
      variables: q.variables,
      fork: q.fork,
      answers: q.answers.map(
        (a, j): Answer => ({
          aid: a.id ?? nextAid++,
          text: toLocalized(a.text, lang),
          position: a.position ?? j,
          nextQid: a.next_qid ?? null,
          exclusive: a.exclusive,
          meta: a.meta,
          variables: a.variables,
        }),
      ),
    })),
  };
}
