import { and, eq, isNotNull, max, min, sql } from "drizzle-orm";
import type { Db } from "../../platform/db";
import { threadMembers, threadMessages } from "../threads";

/**
 * A member's latest answer text per question (question id → HTML-escaped text as stored), for
 * `{{answers.<qid>}}`. Only the newest answer of each question is read.
 */
export async function latestAnswers(
  db: Db,
  threadId: string,
  userId: string,
): Promise<Map<string, string>> {
  const latest = db
    .select({ id: max(threadMessages.id) })
    .from(threadMessages)
    .where(
      and(
        eq(threadMessages.threadId, threadId),
        eq(threadMessages.senderId, userId),
        isNotNull(threadMessages.relatedQuestionId),
        eq(threadMessages.deleted, false),
      ),
    )
    .groupBy(threadMessages.relatedQuestionId);
  const rows = await db
    .select({ questionId: threadMessages.relatedQuestionId, text: threadMessages.text })
    .from(threadMessages)
    .where(sql`${threadMessages.id} IN ${latest}`);
  return new Map(rows.flatMap((r) => (r.questionId ? [[r.questionId, r.text] as const] : [])));
}

/** The earliest scheduled restart of a scripted member of the thread (ISO), or null. */
export async function earliestRestart(db: Db, threadId: string): Promise<string | null> {
  const row = await db
    .select({ at: min(threadMembers.nextRestart) })
    .from(threadMembers)
    .where(and(eq(threadMembers.threadId, threadId), isNotNull(threadMembers.nextRestart)))
    .get();
  return row?.at ?? null;
}
