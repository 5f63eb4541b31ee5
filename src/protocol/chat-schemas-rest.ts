import { z } from "zod";

/**
 * A chat schema as the REST routes answer it (contract §7): `text` in the caller's language,
 * `texts` with every language. The SDK and the chat page use the types inferred from these.
 */

const Texts = z.record(z.string(), z.string());

export const ChatSchemaAnswer = z.object({
  id: z.number().int(),
  text: z.string(),
  texts: Texts,
  position: z.number().int(),
  next_qid: z.number().int().nullable(),
  exclusive: z.boolean(),
  meta: z.record(z.string(), z.unknown()),
  variables: z.array(z.unknown()),
});

export const ChatSchemaQuestion = z
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
    answers: z.array(ChatSchemaAnswer),
  })
  .meta({ id: "Question" });

export const ChatSchemaSummary = z
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
  .meta({ id: "SchemaSummary" });

export const ChatSchema = ChatSchemaSummary.extend({
  groups: z.array(
    z.object({ id: z.number().int(), name: z.string(), names: Texts, position: z.number().int() }),
  ),
  questions: z.array(ChatSchemaQuestion),
}).meta({ id: "Schema" });

export type ChatSchemaAnswer = z.infer<typeof ChatSchemaAnswer>;
export type ChatSchemaQuestion = z.infer<typeof ChatSchemaQuestion>;
export type ChatSchemaSummary = z.infer<typeof ChatSchemaSummary>;
export type ChatSchema = z.infer<typeof ChatSchema>;
