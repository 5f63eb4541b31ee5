// Adds .openapi() to zod's schemas (extendZodWithOpenApi) before this module runs.
import "@hono/zod-openapi";
import {
  ChatSchema,
  type ChatSchemaQuestion,
  ChatSchemaSummary,
} from "../../protocol/chat-schemas-rest";
import { localize, type Question, type Schema, type SchemaSummary } from "./model";
import type { TreeDraft } from "./schema-input";

/**
 * The JSON of schemas: `text` in the caller's language, `texts` with every language. The shapes
 * are the protocol module's (the SDK's types come from them), named again with `.openapi()` so
 * that the document writes `Schema` as `allOf` of `SchemaSummary`.
 */
export const SchemaSummaryOut = ChatSchemaSummary.openapi("SchemaSummary");

export const SchemaOut = SchemaSummaryOut.extend({
  groups: ChatSchema.shape.groups,
  questions: ChatSchema.shape.questions,
}).openapi("Schema");

export function summaryJson(s: SchemaSummary): ChatSchemaSummary {
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
): ChatSchemaQuestion {
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

export function schemaJson(s: Schema, lang: string | null): ChatSchema {
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
