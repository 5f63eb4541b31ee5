import { and, asc, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../../platform/db";
import { type SurveyState, surveyItems, surveys } from "../chat-schemas";

export type SurveyRow = typeof surveys.$inferSelect;
export type SurveyItemRow = typeof surveyItems.$inferSelect;
export type NewItem = Omit<SurveyItemRow, "createdAt" | "updatedAt">;

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

export async function insertSurvey(
  db: Db,
  row: { id: string; userId: string; schemaId: string; state: SurveyState },
): Promise<SurveyRow> {
  const [created] = await db.insert(surveys).values(row).returning();
  if (!created) throw new Error("insert returned no row");
  return created;
}

export async function getSurvey(db: Db, id: string): Promise<SurveyRow | null> {
  return (await db.select().from(surveys).where(eq(surveys.id, id)).get()) ?? null;
}

/** Newest first; `userId` null lists everybody's (admin). */
export async function listSurveys(
  db: Db,
  userId: string | null,
  limit: number,
  offset: number,
): Promise<SurveyRow[]> {
  return db
    .select()
    .from(surveys)
    .where(userId === null ? undefined : eq(surveys.userId, userId))
    .orderBy(desc(surveys.createdAt), desc(surveys.id))
    .limit(limit)
    .offset(offset);
}

export async function listItems(db: Db, surveyId: string): Promise<SurveyItemRow[]> {
  return db
    .select()
    .from(surveyItems)
    .where(eq(surveyItems.surveyId, surveyId))
    .orderBy(asc(surveyItems.position));
}

export type ItemChange =
  | { kind: "insert"; item: NewItem }
  | { kind: "update"; id: string; answers: number[]; text: string | null }
  | { kind: "delete"; id: string };

/**
 * Applies one item change and the survey state computed from the items read at `revision`, in
 * one transaction. Both statements only run while the survey is still at that revision, so a
 * concurrent change makes this one a no-op (returns false) instead of storing a stale state.
 */
export async function applyItemChange(
  db: Db,
  surveyId: string,
  revision: number,
  change: ItemChange,
  state: SurveyState,
): Promise<boolean> {
  const atRevision = sql`EXISTS (SELECT 1 FROM ${surveys} WHERE ${surveys.id} = ${surveyId} AND ${surveys.revision} = ${revision})`;
  const write = (() => {
    switch (change.kind) {
      case "insert": {
        const i = change.item;
        // INSERT ... SELECT fills every column in the table's order.
        return db
          .insert(surveyItems)
          .select(
            sql`SELECT ${i.id}, ${i.surveyId}, ${i.questionId}, ${i.qid}, ${JSON.stringify(i.answers)}, ${i.text}, ${i.position}, ${now}, ${now} WHERE ${atRevision}`,
          );
      }
      case "update":
        return db
          .update(surveyItems)
          .set({ answers: change.answers, text: change.text, updatedAt: now })
          .where(
            and(eq(surveyItems.id, change.id), eq(surveyItems.surveyId, surveyId), atRevision),
          );
      case "delete":
        return db
          .delete(surveyItems)
          .where(
            and(eq(surveyItems.id, change.id), eq(surveyItems.surveyId, surveyId), atRevision),
          );
    }
  })();
  const [, bumped] = await db.batch([
    write,
    db
      .update(surveys)
      .set({ state, revision: sql`${surveys.revision} + 1`, updatedAt: now })
      .where(and(eq(surveys.id, surveyId), eq(surveys.revision, revision))),
  ]);
  return (bumped as D1Result).meta.changes > 0;
}
