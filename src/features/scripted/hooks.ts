import type { AcceptedAnswer } from "../chat-schemas";
import {
  applyAnswer,
  CODES,
  findQuestion,
  nextQid,
  type Question,
  questionType,
  type Schema,
} from "../chat-schemas";
import {
  chatInvalid,
  FieldCodes,
  isScripted,
  type MemberChangeContext,
  type MemberChangedContext,
  type MemberStateHooks,
  type PostContext,
  type PostedContext,
  SCHEMA_STATES,
} from "../threads";
import { acceptAnswer } from "./answer";
import {
  advance,
  audienceOf,
  isDriving,
  markRestartsChanged,
  poolOf,
  schemaFor,
  startQuestion,
} from "./engine";
import { questionMessage } from "./question-message";

/**
 * The automated conversations plugged into the threads' member state machine:
 * - a member set to `scripted` gets its current question posted by the system;
 * - its messages must answer that question (`scripted_fe_controlled`: the question it names);
 * - an `assisted` member may post any question of its schema;
 * - `on_finish` (open / close / repeat) applies at the end; repeats may be scheduled.
 */

/** A question given as its id or its qid (the member fields and `question` are strings). */
export function questionRef(schema: Schema, ref: string): Question | undefined {
  const byId = findQuestion(schema, ref);
  if (byId || !/^\d{1,7}$/.test(ref)) return byId;
  return findQuestion(schema, Number(ref));
}

interface Pending {
  schema: Schema;
  question: Question;
  answer: AcceptedAnswer;
  storedText: string;
}

/** Accepted answers between `beforePost` and `afterPost` of the same post. */
const pending = new WeakMap<object, Pending>();

async function memberSchema(ctx: { ops: PostContext["ops"] }, schemaId: string | null) {
  const schema = schemaId ? await schemaFor(ctx.ops, schemaId) : null;
  if (!schema) throw chatInvalid({ schema_id: [CODES.wrongValue] }, "The member's schema is gone");
  return schema;
}

async function beforeMemberChange(ctx: MemberChangeContext): Promise<void> {
  if (isDriving(ctx.ops)) return;
  const { before, next, change } = ctx;
  if (!SCHEMA_STATES.has(next.state)) {
    if (before && SCHEMA_STATES.has(before.state)) {
      change.questionId = null;
      change.nextRestart = null;
      markRestartsChanged(ctx.ops);
    }
    return;
  }
  const schema = next.schemaId ? await schemaFor(ctx.ops, next.schemaId) : null;
  if (!schema) throw chatInvalid({ schema_id: [CODES.wrongValue] }, "No such schema");
  const schemaChanged = !before || before.schemaId !== next.schemaId;
  if (schemaChanged && (!schema.published || schema.deprecated)) {
    throw chatInvalid(
      { schema_id: [CODES.wrongState] },
      "Conversations start on the published, current version of a schema",
    );
  }
  const codes = new FieldCodes();
  for (const [field, key] of [
    ["question_id", "questionId"],
    ["initial_question_id", "initialQuestionId"],
  ] as const) {
    const ref = change[key];
    if (ref === undefined || ref === null) continue;
    const q = questionRef(schema, ref);
    if (q) change[key] = q.id;
    else codes.add(field, CODES.wrongSchema);
  }
  codes.throwIfAny();

  const starting =
    isScripted(next.state) && (!before || !isScripted(before.state) || schemaChanged);
  if (!starting) return;
  // An initial question given now wins; one set earlier holds only for the same schema.
  const initialRef =
    change.initialQuestionId !== undefined
      ? change.initialQuestionId
      : schemaChanged
        ? null
        : next.initialQuestionId;
  const initial = startQuestion({ ...next, initialQuestionId: initialRef }, schema);
  change.initialQuestionId = initial?.id ?? null;
  change.questionId ??= initial?.id ?? null;
  change.nextRestart = null;
  change.variables = {};
  markRestartsChanged(ctx.ops);
}

async function afterMemberChange(ctx: MemberChangedContext): Promise<void> {
  if (isDriving(ctx.ops)) return;
  const { before, after } = ctx;
  if (after.state !== "scripted" || !after.questionId || !after.schemaId) return;
  const moved =
    !before ||
    before.state !== after.state ||
    before.questionId !== after.questionId ||
    before.schemaId !== after.schemaId;
  if (!moved) return;
  const schema = await memberSchema(ctx, after.schemaId);
  const question = schema.questions.find((q) => q.id === after.questionId);
  if (!question) return;
  await advance(ctx.ops, after, schema, question.qid, poolOf(after), ctx.actor);
}

async function beforePost(ctx: PostContext): Promise<void> {
  const { member, draft } = ctx;
  if (!member || !SCHEMA_STATES.has(member.state)) return;
  const schema = await memberSchema(ctx, member.schemaId);
  const named = draft.question !== null ? questionRef(schema, draft.question) : null;
  if (draft.question !== null && !named) {
    throw chatInvalid({ question: [CODES.wrongSchema] }, "This question is not of the schema");
  }

  if (member.state === "assisted") {
    if (!named) return;
    if (named.type === "fork") throw chatInvalid({ question: [CODES.notAllowed] });
    const others = (await ctx.ops.members()).filter((m) => m.userId !== member.userId);
    const to = others.length === 1 && others[0] ? others[0] : null;
    const audience = to
      ? audienceOf(to, ctx.actor, poolOf(to))
      : { userId: null, name: "", lang: member.lang, variables: {} };
    const message = await questionMessage(ctx.ops, schema, named, audience);
    draft.type = message.type;
    draft.text = message.text;
    draft.meta = { ...(draft.meta ?? {}), ...(message.meta ?? {}) };
    draft.relatedQuestionId = named.id;
    return;
  }

  let question: Question | undefined;
  if (member.state === "scripted") {
    question = schema.questions.find((q) => q.id === member.questionId);
    if (!question) {
      throw chatInvalid({ text: [CODES.wrongState] }, "No question is waiting for an answer");
    }
    if (named && named.id !== question.id) {
      throw chatInvalid({ question: [CODES.wrongValue] }, "Answer the current question");
    }
  } else {
    if (!named) throw chatInvalid({ question: [CODES.required] }, "Name the question answered");
    question = named;
  }

  const def = questionType(question.type);
  if (def.flow && question.type !== "control") {
    throw chatInvalid({ question: [CODES.notAllowed] }, "This question takes no answer");
  }
  const lang = audienceOf(member, ctx.actor, {}).lang;
  const accepted = acceptAnswer(question, draft, lang, schema.defaultLang);
  if (member.state === "scripted_fe_controlled" && question.type !== "control") {
    // The front end showed the question; the thread gets it first, then the answer.
    const audience = audienceOf(member, ctx.actor, poolOf(member));
    await ctx.ops.postSystemMessage(await questionMessage(ctx.ops, schema, question, audience));
  }
  pending.set(draft, { schema, question, ...accepted });
}

async function afterPost(ctx: PostedContext): Promise<void> {
  const p = pending.get(ctx.draft);
  if (!p || !ctx.member || !isScripted(ctx.member.state)) return;
  pending.delete(ctx.draft);
  const member = ctx.member;
  const lang = audienceOf(member, ctx.actor, {}).lang;
  const pool = applyAnswer(
    poolOf(member),
    p.question,
    p.answer,
    p.storedText,
    lang,
    p.schema.defaultLang,
  );
  await advance(ctx.ops, member, p.schema, nextQid(p.question, p.answer, pool), pool, ctx.actor);
}

/** The member state hooks of automated conversations (registered by `src/rooms.ts`). */
export const scriptedHooks: MemberStateHooks = {
  beforeMemberChange,
  afterMemberChange,
  beforePost,
  afterPost,
};
