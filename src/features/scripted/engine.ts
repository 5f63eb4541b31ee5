import type { Caller } from "../../platform/auth/caller";
import { getDb } from "../../platform/db";
import * as time from "../../platform/time";
import {
  applyModifications,
  END,
  forkTarget,
  initialQuestion,
  loadSchema,
  type Question,
  questionByQid,
  type Schema,
  type Variables,
} from "../chat-schemas";
import type { MemberChange, MemberRow, ThreadOps } from "../threads";
import { type Audience, questionMessage } from "./question-message";
import { planRepeat } from "./schedule";

/** Flow questions (`message`, `fork`) chain without waiting; schemas refuse such cycles on save. */
const MAX_AUTO_STEPS = 200;

/**
 * Member changes the engine makes itself go through `ops.changeMember`, which runs the member
 * hooks again; while the engine drives an operation the hooks stand aside.
 */
const driving = new WeakSet<ThreadOps>();

export function isDriving(ops: ThreadOps): boolean {
  return driving.has(ops);
}

/** Operations that set or cleared a scheduled restart: the room then re-plans its alarm. */
const rescheduled = new WeakSet<ThreadOps>();

export function restartsChanged(ops: ThreadOps): boolean {
  return rescheduled.has(ops);
}

export function markRestartsChanged(ops: ThreadOps): void {
  rescheduled.add(ops);
}

async function save(ops: ThreadOps, userId: string, change: MemberChange): Promise<MemberRow> {
  if (change.nextRestart !== undefined) rescheduled.add(ops);
  driving.add(ops);
  try {
    return await ops.changeMember(userId, change);
  } finally {
    driving.delete(ops);
  }
}

const schemaCache = new WeakMap<ThreadOps, Map<string, Schema | null>>();

/** The member's schema version, loaded once per operation. */
export async function schemaFor(ops: ThreadOps, id: string): Promise<Schema | null> {
  let cache = schemaCache.get(ops);
  if (!cache) {
    cache = new Map();
    schemaCache.set(ops, cache);
  }
  if (!cache.has(id)) cache.set(id, await loadSchema(getDb(ops.env.DB), id));
  return cache.get(id) ?? null;
}

export function poolOf(member: MemberRow): Variables {
  // From entries: a variable named `__proto__` stays an ordinary key.
  return Object.fromEntries(
    Object.entries(member.variables ?? {}).filter(
      (entry): entry is [string, Variables[string]] =>
        entry[1] === null || ["string", "number", "boolean"].includes(typeof entry[1]),
    ),
  );
}

/** The member's language: its own setting, else the token's when it is the one acting. */
export function audienceOf(member: MemberRow, actor: Caller, pool: Variables): Audience {
  const tokenLang = actor.kind === "user" && actor.user.id === member.userId ? actor.lang : null;
  return {
    userId: member.userId,
    name: member.name,
    lang: member.lang ?? tokenLang ?? null,
    variables: pool,
  };
}

export function startQuestion(member: MemberRow, schema: Schema): Question | undefined {
  const chosen = member.initialQuestionId
    ? schema.questions.find((q) => q.id === member.initialQuestionId)
    : undefined;
  return chosen ?? initialQuestion(schema);
}

interface Walked {
  /** The question now waiting for the member, or null: the schema ended. */
  question: Question | null;
  pool: Variables;
  /** The last question message posted, if any. */
  messageId: number | null;
}

/**
 * Walks from `qid`: a `fork` picks by the variables, a `message` is posted and passed, any other
 * question is posted (scripted) and waited for. Front-end controlled members get nothing
 * posted: the walk only resolves forks (the front end cannot see the variables) and stops at
 * the first question to show.
 */
async function walk(
  ops: ThreadOps,
  member: MemberRow,
  schema: Schema,
  qid: number,
  pool: Variables,
  actor: Caller,
): Promise<Walked> {
  const posting = member.state === "scripted";
  let current = qid;
  let messageId: number | null = null;
  for (let step = 0; step < MAX_AUTO_STEPS; step++) {
    if (current === END) return { question: null, pool, messageId };
    const q = questionByQid(schema, current);
    if (!q) throw new Error(`schema ${schema.id} has no question ${current}`);
    if (q.type === "fork") {
      pool = applyModifications(pool, q.variables, "");
      current = forkTarget(q.fork, pool);
      continue;
    }
    if (posting) {
      const message = await questionMessage(ops, schema, q, audienceOf(member, actor, pool));
      messageId = (await ops.postSystemMessage(message)).id;
    }
    if (q.type !== "message" || !posting) return { question: q, pool, messageId };
    pool = applyModifications(pool, q.variables, "");
    current = q.nextQid;
  }
  throw new Error(`schema ${schema.id}: questions keep advancing by themselves from ${qid}`);
}

/**
 * Moves a scripted member on to `qid` (after an answer, a restart, or a question set from
 * outside) and stores where it stands. At the end, `on_finish` applies.
 */
export async function advance(
  ops: ThreadOps,
  member: MemberRow,
  schema: Schema,
  qid: number,
  pool: Variables,
  actor: Caller,
  restarted = false,
): Promise<MemberRow> {
  const walked = await walk(ops, member, schema, qid, pool, actor);
  const related = walked.messageId ?? member.relatedMessageId;
  if (walked.question) {
    return save(ops, member.userId, {
      questionId: walked.question.id,
      variables: walked.pool,
      relatedMessageId: related,
      nextRestart: null,
    });
  }
  const ended = { variables: walked.pool, relatedMessageId: related, questionId: null };
  if (member.onFinish === "close") return save(ops, member.userId, { ...ended, state: "closed" });
  if (member.onFinish !== "repeat") return save(ops, member.userId, { ...ended, state: "open" });

  const plan = planRepeat(member, time.nowDate());
  const first = startQuestion(member, schema);
  // An immediate restart that ends again without waiting for the member would never stop.
  if (plan.kind === "over" || !first || (plan.kind === "now" && restarted)) {
    return save(ops, member.userId, { ...ended, state: "open", nextRestart: null });
  }
  if (plan.kind === "at") {
    return save(ops, member.userId, { ...ended, nextRestart: plan.at.toISOString() });
  }
  return advance(ops, member, schema, first.qid, walked.pool, actor, true);
}

/** Restarts every member whose scheduled repetition is due (the thread room's alarm). */
export async function restartDue(ops: ThreadOps, now: Date, actor: Caller): Promise<void> {
  for (const member of await ops.members()) {
    if (!member.nextRestart || Date.parse(member.nextRestart) > now.getTime()) continue;
    const schema = member.schemaId ? await schemaFor(ops, member.schemaId) : null;
    const first = schema ? startQuestion(member, schema) : undefined;
    if (!schema || !first || !["scripted", "scripted_fe_controlled"].includes(member.state)) {
      await save(ops, member.userId, { nextRestart: null });
      continue;
    }
    await advance(ops, member, schema, first.qid, poolOf(member), actor, true);
  }
}
