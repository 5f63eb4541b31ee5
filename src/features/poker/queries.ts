import { and, asc, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../../platform/db";
import * as time from "../../platform/time";
import type { Participant } from "./participants";
import { pokerParticipants, pokerSessions, pokerStories, pokerVotes } from "./schema";
import type { StoryRecord, VoteRecord } from "./story-view";

export type PokerSessionRow = typeof pokerSessions.$inferSelect;
export type PokerStoryRow = typeof pokerStories.$inferSelect;

const now = () => time.nowIso();

export interface SessionInput {
  name: string;
  choices: string[];
  endRedirectUrl: string;
}

export async function createSession(
  db: Db,
  id: string,
  input: SessionInput,
): Promise<PokerSessionRow> {
  return db
    .insert(pokerSessions)
    .values({ id, ...input, createdAt: now() })
    .returning()
    .get();
}

export async function getSession(db: Db, id: string): Promise<PokerSessionRow | null> {
  return (await db.select().from(pokerSessions).where(eq(pokerSessions.id, id)).get()) ?? null;
}

export async function listStories(db: Db, sessionId: string): Promise<PokerStoryRow[]> {
  return db
    .select()
    .from(pokerStories)
    .where(eq(pokerStories.sessionId, sessionId))
    .orderBy(asc(pokerStories.position));
}

export interface StoryInput {
  storyLabel: string;
  /** Already sanitised HTML. */
  description: string;
}

/** Appends a story; its position is computed in the same statement, so concurrent adds queue up. */
export async function addStory(
  db: Db,
  sessionId: string,
  input: StoryInput,
): Promise<PokerStoryRow> {
  return db
    .insert(pokerStories)
    .values({
      id: crypto.randomUUID(),
      sessionId,
      ...input,
      position: sql`(SELECT COALESCE(MAX(${pokerStories.position}), -1) + 1 FROM ${pokerStories} WHERE ${pokerStories.sessionId} = ${sessionId})`,
      createdAt: now(),
    })
    .returning()
    .get();
}

export async function getStory(
  db: Db,
  sessionId: string,
  storyId: string,
): Promise<PokerStoryRow | null> {
  const row = await db
    .select()
    .from(pokerStories)
    .where(and(eq(pokerStories.id, storyId), eq(pokerStories.sessionId, sessionId)))
    .get();
  return row ?? null;
}

export async function setActiveStory(db: Db, sessionId: string, storyId: string): Promise<void> {
  await db
    .update(pokerSessions)
    .set({ activeStoryId: storyId })
    .where(eq(pokerSessions.id, sessionId));
}

/** Sets a story's points with `also` (the change's outbox rows) in one D1 transaction. */
export async function setStoryPoints(
  db: Db,
  storyId: string,
  points: number,
  also: BatchItem<"sqlite">[],
): Promise<void> {
  await db.batch([
    db.update(pokerStories).set({ storyPoints: points }).where(eq(pokerStories.id, storyId)),
    ...also,
  ]);
}

export async function setRevealed(db: Db, storyId: string, revealed: boolean): Promise<void> {
  await db.update(pokerStories).set({ revealed }).where(eq(pokerStories.id, storyId));
}

export async function listVotes(db: Db, storyId: string): Promise<VoteRecord[]> {
  return db
    .select({ userId: pokerVotes.userId, userName: pokerVotes.userName, choice: pokerVotes.choice })
    .from(pokerVotes)
    .where(eq(pokerVotes.storyId, storyId))
    .orderBy(asc(pokerVotes.votedAt));
}

/** Every vote of a session's stories, by story, in the order they were cast. */
export async function listSessionVotes(
  db: Db,
  sessionId: string,
): Promise<Map<string, VoteRecord[]>> {
  const rows = await db
    .select({
      storyId: pokerVotes.storyId,
      userId: pokerVotes.userId,
      userName: pokerVotes.userName,
      choice: pokerVotes.choice,
    })
    .from(pokerVotes)
    .innerJoin(pokerStories, eq(pokerStories.id, pokerVotes.storyId))
    .where(eq(pokerStories.sessionId, sessionId))
    .orderBy(asc(pokerVotes.votedAt));
  const byStory = new Map<string, VoteRecord[]>();
  for (const { storyId, ...vote } of rows) {
    const list = byStory.get(storyId) ?? [];
    list.push(vote);
    byStory.set(storyId, list);
  }
  return byStory;
}

/** A session with its active story and that story's votes, in one round trip. */
export interface PokerRound {
  session: PokerSessionRow;
  story: PokerStoryRow | null;
  votes: VoteRecord[];
}

export async function getRound(db: Db, sessionId: string): Promise<PokerRound | null> {
  const active = and(
    eq(pokerSessions.id, sessionId),
    eq(pokerSessions.activeStoryId, pokerStories.id),
  );
  const [sessions, stories, votes] = await db.batch([
    db.select().from(pokerSessions).where(eq(pokerSessions.id, sessionId)),
    db.select({ story: pokerStories }).from(pokerStories).innerJoin(pokerSessions, active),
    db
      .select({
        userId: pokerVotes.userId,
        userName: pokerVotes.userName,
        choice: pokerVotes.choice,
      })
      .from(pokerVotes)
      .innerJoin(pokerStories, eq(pokerStories.id, pokerVotes.storyId))
      .innerJoin(pokerSessions, active)
      .orderBy(asc(pokerVotes.votedAt)),
  ]);
  const session = sessions[0];
  if (!session) return null;
  return { session, story: stories[0]?.story ?? null, votes };
}

/**
 * One vote per user and story: a second vote replaces the first. Several votes are one D1 batch
 * (one transaction); with `reveal`, the story is revealed in it (the votes that completed the round).
 */
/** D1 binds at most 100 parameters per statement; a vote row binds five. */
const VOTES_PER_STATEMENT = 20;

export async function upsertVotes(
  db: Db,
  storyId: string,
  votes: VoteRecord[],
  reveal = false,
): Promise<void> {
  const votedAt = now();
  // One multi-row statement per VOTES_PER_STATEMENT votes: a room voting at once is a handful of
  // statements to build and bind, not one per vote.
  const upserts = [];
  for (let i = 0; i < votes.length; i += VOTES_PER_STATEMENT) {
    const rows = votes.slice(i, i + VOTES_PER_STATEMENT).map((v) => ({ storyId, ...v, votedAt }));
    upserts.push(
      db
        .insert(pokerVotes)
        .values(rows)
        .onConflictDoUpdate({
          target: [pokerVotes.storyId, pokerVotes.userId],
          set: {
            choice: sql`excluded.choice`,
            userName: sql`excluded.user_name`,
            votedAt: sql`excluded.voted_at`,
          },
        }),
    );
  }
  const reveals = reveal
    ? [db.update(pokerStories).set({ revealed: true }).where(eq(pokerStories.id, storyId))]
    : [];
  const [first, ...rest] = [...upserts, ...reveals];
  if (first) await db.batch([first, ...rest]);
}

/** Takes one user's vote on a story back. */
export async function deleteVote(db: Db, storyId: string, userId: string): Promise<void> {
  await db
    .delete(pokerVotes)
    .where(and(eq(pokerVotes.storyId, storyId), eq(pokerVotes.userId, userId)));
}

/** Clears a story's votes and hides them again (reset). */
export async function resetVotes(db: Db, storyId: string): Promise<void> {
  await db.batch([
    db.delete(pokerVotes).where(eq(pokerVotes.storyId, storyId)),
    db.update(pokerStories).set({ revealed: false }).where(eq(pokerStories.id, storyId)),
  ]);
}

/**
 * Ends a session at `endedAt` and clears its participant list in one D1 transaction with the
 * statements of `withEnd`. `ifEnded(value)` is SQL that is `value` only when this call ended the
 * session (NULL when it had already ended): an event recorded with it as its uuid cannot be
 * inserted otherwise, so the whole batch fails instead of announcing an end twice. Null when the
 * session had already ended (or does not exist) and `withEnd` records no event.
 */
export async function endSession(
  db: Db,
  sessionId: string,
  endedAt: string,
  withEnd: (ifEnded: (value: string) => SQL) => BatchItem<"sqlite">[],
): Promise<PokerSessionRow | null> {
  const [rows] = await db.batch([
    db
      .update(pokerSessions)
      .set({ endedAt, activeStoryId: null })
      .where(and(eq(pokerSessions.id, sessionId), isNull(pokerSessions.endedAt)))
      .returning(),
    db.delete(pokerParticipants).where(eq(pokerParticipants.sessionId, sessionId)),
    ...withEnd(
      (value) =>
        sql`(SELECT ${value} FROM ${pokerSessions} WHERE ${pokerSessions.id} = ${sessionId} AND ${pokerSessions.endedAt} = ${endedAt})`,
    ),
  ]);
  return rows[0] ?? null;
}

/**
 * Brings the session's participant rows to `participants` in one D1 batch: rows of users no
 * longer listed go, and the `changed` entries (new users, or new names or permissions) are
 * upserted; rows that did not change are not rewritten, so a join costs O(1) writes.
 */
export async function syncParticipants(
  db: Db,
  sessionId: string,
  participants: Participant[],
  changed: Participant[],
  joinedAt: (userId: string) => Date,
): Promise<void> {
  const ids = JSON.stringify(participants.map((p) => p.id));
  await db.batch([
    // json_each keeps this one statement with two bound parameters however many users stay.
    db
      .delete(pokerParticipants)
      .where(
        and(
          eq(pokerParticipants.sessionId, sessionId),
          sql`${pokerParticipants.userId} NOT IN (SELECT value FROM json_each(${ids}))`,
        ),
      ),
    ...changed.map((p) =>
      db
        .insert(pokerParticipants)
        .values({
          sessionId,
          userId: p.id,
          name: p.name,
          permissions: p.permissions,
          joinedAt: joinedAt(p.id).toISOString(),
        })
        .onConflictDoUpdate({
          target: [pokerParticipants.sessionId, pokerParticipants.userId],
          set: { name: p.name, permissions: p.permissions },
        }),
    ),
  ]);
}

export function storyRecord(row: PokerStoryRow): StoryRecord {
  return {
    id: row.id,
    storyLabel: row.storyLabel,
    description: row.description,
    storyPoints: row.storyPoints,
    revealed: row.revealed,
  };
}
