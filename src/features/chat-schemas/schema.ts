import { sql } from "drizzle-orm";
import { index, integer, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Texts per language, e.g. `{"en": "How old are you?", "de": "Wie alt bist du?"}`. */
export type LocalizedText = Record<string, string>;

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

/**
 * A versioned question schema. Every version is its own row: members and surveys point at the
 * version they started on, so a newer version never changes a conversation in progress.
 */
export const chatSchemas = sqliteTable(
  "chat_schemas",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    type: text("type").notNull(),
    version: integer("version").notNull(),
    published: integer("published", { mode: "boolean" }).notNull().default(false),
    deprecated: integer("deprecated", { mode: "boolean" }).notNull().default(false),
    defaultLang: text("default_lang").notNull(),
    createdAt: text("created_at").notNull().default(now),
    publishedAt: text("published_at"),
  },
  (t) => [
    uniqueIndex("chat_schemas_name_version").on(t.name, t.version),
    index("chat_schemas_type").on(t.type),
  ],
);

export const chatSchemaGroups = sqliteTable(
  "chat_schema_groups",
  {
    id: text("id").primaryKey(),
    schemaId: text("schema_id")
      .notNull()
      .references(() => chatSchemas.id),
    /** The group's id inside its schema, as the client gave it (kept across versions). */
    gid: integer("gid").notNull(),
    name: text("name", { mode: "json" }).$type<LocalizedText>().notNull(),
    position: integer("position").notNull(),
  },
  (t) => [uniqueIndex("chat_schema_groups_schema_gid").on(t.schemaId, t.gid)],
);

export const chatQuestions = sqliteTable(
  "chat_questions",
  {
    id: text("id").primaryKey(),
    schemaId: text("schema_id")
      .notNull()
      .references(() => chatSchemas.id),
    /** The group's `gid`, or null. */
    groupGid: integer("group_gid"),
    qid: integer("qid").notNull(),
    position: integer("position").notNull(),
    text: text("text", { mode: "json" }).$type<LocalizedText>().notNull(),
    type: text("type").notNull(),
    showAsType: text("show_as_type").notNull(),
    required: integer("required", { mode: "boolean" }).notNull(),
    nextQid: integer("next_qid").notNull(),
    choiceOpen: integer("choice_open", { mode: "boolean" }).notNull(),
    rangeFrom: real("range_from"),
    rangeTo: real("range_to"),
    meta: text("meta", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    /** Variable modifications applied when the question is answered (rule language, JSON). */
    variables: text("variables", { mode: "json" }).$type<unknown[]>().notNull(),
    /** `fork` rules: the first whose condition holds picks `next_qid`. */
    fork: text("fork", { mode: "json" }).$type<unknown[]>().notNull(),
  },
  (t) => [
    uniqueIndex("chat_questions_schema_qid").on(t.schemaId, t.qid),
    uniqueIndex("chat_questions_schema_position").on(t.schemaId, t.position),
  ],
);

export const chatAnswers = sqliteTable(
  "chat_answers",
  {
    id: text("id").primaryKey(),
    schemaId: text("schema_id")
      .notNull()
      .references(() => chatSchemas.id),
    questionId: text("question_id")
      .notNull()
      .references(() => chatQuestions.id),
    /** The answer id clients send (`answers: [aid, ...]`), unique per schema, kept by copies. */
    aid: integer("aid").notNull(),
    text: text("text", { mode: "json" }).$type<LocalizedText>().notNull(),
    position: integer("position").notNull(),
    nextQid: integer("next_qid"),
    exclusive: integer("exclusive", { mode: "boolean" }).notNull(),
    meta: text("meta", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    variables: text("variables", { mode: "json" }).$type<unknown[]>().notNull(),
  },
  (t) => [
    uniqueIndex("chat_answers_schema_aid").on(t.schemaId, t.aid),
    index("chat_answers_question").on(t.questionId),
  ],
);

export interface SurveyState {
  visibility: number[];
  completed: boolean;
}

export const surveys = sqliteTable(
  "surveys",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    schemaId: text("schema_id")
      .notNull()
      .references(() => chatSchemas.id),
    state: text("state", { mode: "json" }).$type<SurveyState>().notNull(),
    /** Bumped by every item change: item writes are guarded by it, so `state` never goes stale. */
    revision: integer("revision").notNull().default(0),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [index("surveys_user").on(t.userId, t.createdAt)],
);

export const surveyItems = sqliteTable(
  "survey_items",
  {
    id: text("id").primaryKey(),
    surveyId: text("survey_id")
      .notNull()
      .references(() => surveys.id),
    questionId: text("question_id")
      .notNull()
      .references(() => chatQuestions.id),
    qid: integer("qid").notNull(),
    answers: text("answers", { mode: "json" }).$type<number[]>().notNull(),
    text: text("text"),
    position: integer("position").notNull(),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [uniqueIndex("survey_items_survey_question").on(t.surveyId, t.questionId)],
);
