// Adds .openapi() to zod's schemas (extendZodWithOpenApi) before this module runs.
import "@hono/zod-openapi";
import { z } from "zod";
import { localize, type Question, type Schema, type SchemaSummary } from "./model";
import type { TreeDraft } from "./schema-input";

/** The JSON of schemas: `text` in the caller's language, `texts` with every language. */

const Texts = z.record(z.string(), z.string());

export const AnswerOut = z.object({
  id: z.number().int(),
  text: z.string(),
  texts: Texts,
  position: z.number().int(),
  next_qid: z.number().int().nullable(),
  exclusive: z.boolean(),
  meta: z.record(z.string(), z.unknown()),
  variables: z.array(z.unknown()),
});

export const QuestionOut = z
  .object({
    id: z.string(),
    qid: z.number().int(),
    position: z.number().int(),
    group: z.number().int().nullable(),
    text: z.string(),
    texts: Texts,
    type: z.string(),
    show_as_type: z.string(),
    required: z.boolean(),
    next_qid: z.number().int(),
    choice_open: z.boolean(),
    range_from: z.number().nullable(),
    range_to: z.number().nullable(),
    meta: z.record(z.string(), z.unknown()),
    variables: z.array(z.unknown()),
    fork: z.array(z.unknown()),
    answers: z.array(AnswerOut),
  })
  .openapi("Question");

export const SchemaSummaryOut = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.string(),
    version: z.number().int(),
    published: z.boolean(),
    deprecated: z.boolean(),
    default_lang: z.string(),
    created_at: z.string(),
    published_at: z.string().nullable(),
  })
  .openapi("SchemaSummary");

export const SchemaOut = SchemaSummaryOut.extend({
  groups: z.array(
    z.object({ id: z.number().int(), name: z.string(), names: Texts, position: z.number().int() }),
  ),
  questions: z.array(QuestionOut),
}).openapi("Schema");

export function summaryJson(s: SchemaSummary): z.infer<typeof SchemaSummaryOut> {
  return {
    id: s.id,
    name: s.name,
    type: s.type,
    version: s.version,
    published: s.published,
    deprecated: s.deprecated,
    default_lang: s.defaultLang,
    created_at: s.createdAt,
    published_at: s.publishedAt,
  };
}

export function questionJson(
  q: Question,
  lang: string | null,
  fallback: string,
): z.infer<typeof QuestionOut> {
  return {
    id: q.id,
    qid: q.qid,
    position: q.position,
    group: q.groupGid,
    text: localize(q.text, lang, fallback),
    texts: q.text,
    type: q.type,
    show_as_type: q.showAsType,
    required: q.required,
    next_qid: q.nextQid,
    choice_open: q.choiceOpen,
    range_from: q.rangeFrom,
    range_to: q.rangeTo,
    meta: q.meta,
    variables: q.variables,
    fork: q.fork,
    answers: q.answers.map((a) => ({
      id: a.aid,
      text: localize(a.text, lang, fallback),
      texts: a.text,
      position: a.position,
      next_qid: a.nextQid,
      exclusive: a.exclusive,
      meta: a.meta,
      variables: a.variables,
    })),
  };
}

export function schemaJson(s: Schema, lang: string | null): z.infer<typeof SchemaOut> {
  return {
    ...summaryJson(s),
    groups: s.groups.map((g) => ({
      id: g.gid,
      name: localize(g.name, lang, s.defaultLang),
      names: g.name,
      position: g.position,
    })),
    questions: s.questions.map((q) => questionJson(q, lang, s.defaultLang)),
  };
}

/** A saved schema's tree as a draft, for a deep copy into a new version. */
export function treeOf(s: Schema): TreeDraft {
  return {
    groups: s.groups.map((g) => ({ ...g })),
    questions: s.questions.map(({ id: _id, ...q }) => ({
      ...q,
      answers: q.answers.map((a) => ({ ...a })),
    })),
  };
}
