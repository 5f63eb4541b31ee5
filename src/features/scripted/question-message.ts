import { getDb } from "../../platform/db";
import type { Variables } from "../chat-schemas";
import {
  localize,
  type Question,
  renderTemplate,
  type Schema,
  type TemplateContext,
} from "../chat-schemas";
import type { SystemMessageInput, ThreadOps } from "../threads";
import { latestAnswers } from "./queries";
import { escapeHtml, unescapeHtml } from "./text";

/** Who a question is put to: its texts are in their language and use their data. */
export interface Audience {
  userId: string | null;
  name: string;
  lang: string | null;
  variables: Variables;
}

const USES_ANSWERS = /\{\{\s*answers\./;

async function contextFor(
  ops: ThreadOps,
  schema: Schema,
  audience: Audience,
  template: string,
): Promise<TemplateContext> {
  const thread = await ops.thread();
  const answers: Record<string, string> = {};
  if (audience.userId && USES_ANSWERS.test(template)) {
    const byQuestion = await latestAnswers(getDb(ops.env.DB), ops.threadId, audience.userId);
    for (const q of schema.questions) {
      const text = byQuestion.get(q.id);
      if (text !== undefined) answers[String(q.qid)] = unescapeHtml(text);
    }
  }
  return {
    user: { id: audience.userId ?? "", name: audience.name, lang: audience.lang ?? "" },
    answers,
    vars: audience.variables,
    thread: { id: thread.id, title: thread.title, type: thread.type },
  };
}

/**
 * A question as a thread message: type = `show_as_type`, text in the audience's language with
 * its placeholders filled. Like every message text it is HTML-escaped (the template included;
 * the values are escaped by the renderer). `meta.question` carries what a client needs to show
 * the answers.
 */
export async function questionMessage(
  ops: ThreadOps,
  schema: Schema,
  question: Question,
  audience: Audience,
): Promise<SystemMessageInput> {
  const template = localize(question.text, audience.lang, schema.defaultLang);
  const ctx = await contextFor(ops, schema, audience, template);
  return {
    type: question.showAsType,
    text: renderTemplate(escapeHtml(template), ctx),
    relatedQuestionId: question.id,
    meta: {
      schema: { id: schema.id, name: schema.name, version: schema.version },
      for_user: audience.userId,
      question: {
        id: question.id,
        qid: question.qid,
        type: question.type,
        show_as_type: question.showAsType,
        required: question.required,
        choice_open: question.choiceOpen,
        range_from: question.rangeFrom,
        range_to: question.rangeTo,
        meta: question.meta,
        answers: question.answers.map((a) => ({
          id: a.aid,
          text: renderTemplate(
            escapeHtml(localize(a.text, audience.lang, schema.defaultLang)),
            ctx,
          ),
          position: a.position,
          exclusive: a.exclusive,
          meta: a.meta,
        })),
      },
    },
  };
}
