import { and, asc, desc, eq, inArray, lt, max, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../../platform/db";
import type { Answer, Question, QuestionType, Schema, SchemaSummary } from "./model";
import type { ForkRule, Modification } from "./rules";
import { chatAnswers, chatQuestions, chatSchemaGroups, chatSchemas } from "./schema";
import type { TreeDraft } from "./schema-input";

type SchemaRow = typeof chatSchemas.$inferSelect;

function summary(row: SchemaRow): SchemaSummary {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    version: row.version,
    published: row.published,
    deprecated: row.deprecated,
    defaultLang: row.defaultLang,
    createdAt: row.createdAt,
    publishedAt: row.publishedAt,
  };
}

/** A schema with its groups, questions and answers, ordered by position. */
export async function loadSchema(db: Db, id: string): Promise<Schema | null> {
  const [head, groups, questions, answers] = await db.batch([
    db.select().from(chatSchemas).where(eq(chatSchemas.id, id)),
    db
      .select()
      .from(chatSchemaGroups)
      .where(eq(chatSchemaGroups.schemaId, id))
      .orderBy(asc(chatSchemaGroups.position)),
    db
      .select()
      .from(chatQuestions)
      .where(eq(chatQuestions.schemaId, id))
      .orderBy(asc(chatQuestions.position)),
    db
      .select()
      .from(chatAnswers)
      .where(eq(chatAnswers.schemaId, id))
      .orderBy(asc(chatAnswers.position), asc(chatAnswers.aid)),
  ]);
  const row = head[0];
  if (!row) return null;
  const byQuestion = new Map<string, Answer[]>();
  for (const a of answers) {
    const list = byQuestion.get(a.questionId) ?? [];
    list.push({
      aid: a.aid,
      text: a.text,
      position: a.position,
      nextQid: a.nextQid,
      exclusive: a.exclusive,
      meta: a.meta,
      variables: a.variables as Modification[],
    });
    byQuestion.set(a.questionId, list);
  }
  return {
    ...summary(row),
    groups: groups.map((g) => ({ gid: g.gid, name: g.name, position: g.position })),
    questions: questions.map(
      (q): Question => ({
        id: q.id,
        qid: q.qid,
        position: q.position,
        groupGid: q.groupGid,
        text: q.text,
        type: q.type as QuestionType,
        showAsType: q.showAsType,
        required: q.required,
        nextQid: q.nextQid,
        choiceOpen: q.choiceOpen,
        rangeFrom: q.rangeFrom,
        rangeTo: q.rangeTo,
        meta: q.meta,
        variables: q.variables as Modification[],
        fork: q.fork as ForkRule[],
        answers: byQuestion.get(q.id) ?? [],
      }),
    ),
  };
}

export async function listSchemas(
  db: Db,
  filter: { types?: string[]; name?: string; type?: string; publishedOnly: boolean },
  limit: number,
  offset: number,
): Promise<SchemaSummary[]> {
  const where: SQL[] = [];
  if (filter.types) where.push(inArray(chatSchemas.type, filter.types));
  if (filter.type) where.push(eq(chatSchemas.type, filter.type));
  if (filter.name) where.push(eq(chatSchemas.name, filter.name));
  if (filter.publishedOnly) where.push(eq(chatSchemas.published, true));
  const rows = await db
    .select()
    .from(chatSchemas)
    .where(and(...where))
    .orderBy(asc(chatSchemas.name), desc(chatSchemas.version))
    .limit(limit)
    .offset(offset);
  return rows.map(summary);
}

export async function nextVersion(db: Db, name: string): Promise<number> {
  const row = await db
    .select({ v: max(chatSchemas.version) })
    .from(chatSchemas)
    .where(eq(chatSchemas.name, name))
    .get();
  return (row?.v ?? 0) + 1;
}

/** One statement per row: D1 caps bound parameters per statement; a batch is one transaction. */
function treeWrites(
  db: Db,
  schemaId: string,
  tree: TreeDraft,
  existing: ReadonlyMap<number, string> = new Map(),
): BatchItem<"sqlite">[] {
  const out: BatchItem<"sqlite">[] = [];
  for (const g of tree.groups) {
    out.push(db.insert(chatSchemaGroups).values({ id: crypto.randomUUID(), schemaId, ...g }));
  }
  for (const { answers, ...q } of tree.questions) {
    const kept = existing.get(q.qid);
    const questionId = kept ?? crypto.randomUUID();
    out.push(
      kept
        ? db.update(chatQuestions).set(q).where(eq(chatQuestions.id, kept))
        : db.insert(chatQuestions).values({ id: questionId, schemaId, ...q }),
    );
    for (const a of answers) {
      out.push(
        db.insert(chatAnswers).values({ id: crypto.randomUUID(), schemaId, questionId, ...a }),
      );
    }
  }
  return out;
}

export async function insertSchema(
  db: Db,
  head: { id: string; name: string; type: string; version: number; defaultLang: string },
  tree: TreeDraft,
): Promise<void> {
  await db.batch([db.insert(chatSchemas).values(head), ...treeWrites(db, head.id, tree)]);
}

/**
 * Replaces a schema's tree in one transaction. Questions are matched by `qid` and keep their
 * row (survey items point at it); removed questions are deleted, which fails with a foreign-key
 * error while a survey item still answers one. Groups and answers are rewritten.
 */
export async function replaceSchema(
  db: Db,
  schema: Schema,
  head: { type: string; defaultLang: string },
  tree: TreeDraft,
): Promise<void> {
  const existing = new Map(schema.questions.map((q) => [q.qid, q.id]));
  const kept = new Set(tree.questions.map((q) => q.qid));
  const removed = schema.questions.filter((q) => !kept.has(q.qid)).map((q) => q.id);
  const id = schema.id;
  // Unique (schema, position) is checked per statement: park kept questions out of the way.
  const park = db
    .update(chatQuestions)
    .set({ position: sql`-1 - ${chatQuestions.position}` })
    .where(eq(chatQuestions.schemaId, id));
  await db.batch([
    db.update(chatSchemas).set(head).where(eq(chatSchemas.id, id)),
    db.delete(chatAnswers).where(eq(chatAnswers.schemaId, id)),
    db.delete(chatSchemaGroups).where(eq(chatSchemaGroups.schemaId, id)),
    ...(removed.length ? [db.delete(chatQuestions).where(inArray(chatQuestions.id, removed))] : []),
    park,
    ...treeWrites(db, id, tree, existing),
  ]);
}

/** Publishes a version and deprecates the older published versions of the same name. */
export async function publishSchema(db: Db, schema: SchemaSummary): Promise<void> {
  await db.batch([
    db
      .update(chatSchemas)
      .set({ deprecated: true })
      .where(
        and(
          eq(chatSchemas.name, schema.name),
          eq(chatSchemas.published, true),
          lt(chatSchemas.version, schema.version),
        ),
      ),
    db
      .update(chatSchemas)
      .set({ published: true, publishedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))` })
      .where(eq(chatSchemas.id, schema.id)),
  ]);
}

/** True when a D1 error is a constraint violation (a concurrent duplicate, a row still in use). */
export function isConstraintViolation(err: unknown, kind: "UNIQUE" | "FOREIGN KEY"): boolean {
  const text = `${String(err)} ${String((err as { cause?: unknown })?.cause ?? "")}`;
  return text.includes(`${kind} constraint failed`);
}
