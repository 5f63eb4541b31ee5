import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { Caller } from "../../platform/auth/caller";
import { requireCaller } from "../../platform/auth/middleware";
import { UserId } from "../../platform/auth/user-id";
import { type Db, getDb } from "../../platform/db";
import { badRequest, conflict, forbidden, notFound } from "../../platform/errors";
import {
  bearerSecurity,
  createRouter,
  errorResponses,
  jsonBody,
  jsonResponse,
  listOf,
  PaginationQuery,
  page,
} from "../../platform/http/router";
import { IdempotencyHeaders, idempotent } from "../../platform/idempotency/middleware";
import { Survey, SurveyItem, SurveyItemInput, SurveyItemPatch } from "../../protocol/surveys-rest";
import type { Schema } from "../chat-schemas";
import { CODES, isConstraintViolation, loadSchema, schemaSettings } from "../chat-schemas";
import { chatFieldErrors } from "../threads";
import { checkItem } from "./items";
import {
  applyItemChange,
  getSurvey,
  type ItemChange,
  insertSurvey,
  listItems,
  listSurveys,
  type SurveyItemRow,
  type SurveyRow,
} from "./queries";
import { type ItemFacts, surveyState } from "./state";

const tags = ["surveys"];
const SurveyParam = z.object({ id: z.string().min(1).max(100) });
const ItemParam = SurveyParam.extend({ pk: z.string().min(1).max(100) });

const SurveyCreate = z
  .object({
    schema_id: z.string().min(1).max(100),
    user_id: UserId.max(128).optional().openapi({
      description: "Required for admin; a client may only name itself (the default)",
    }),
  })
  .strict()
  .openapi("SurveyInput");

const surveyJson = (s: SurveyRow) => ({
  id: s.id,
  user_id: s.userId,
  schema_id: s.schemaId,
  state: s.state,
  created_at: s.createdAt,
  updated_at: s.updatedAt,
});

const itemJson = (
  i: Omit<SurveyItemRow, "createdAt" | "updatedAt">,
  state: SurveyRow["state"],
) => ({
  id: i.id,
  survey_id: i.surveyId,
  question: i.qid,
  question_id: i.questionId,
  answers: i.answers,
  text: i.text,
  position: i.position,
  survey_state: state,
});

/** A user sees only their own surveys; others get 404, not 403, so ids do not leak. */
async function ownSurvey(db: Db, caller: Caller, id: string): Promise<SurveyRow> {
  const survey = await getSurvey(db, id);
  if (
    !survey ||
    (caller.kind !== "admin" && !(caller.kind === "user" && caller.user.id === survey.userId))
  ) {
    throw notFound("Survey");
  }
  return survey;
}

async function schemaOf(db: Db, survey: SurveyRow): Promise<Schema> {
  const schema = await loadSchema(db, survey.schemaId);
  if (!schema) throw new Error(`survey ${survey.id} points at a missing schema`);
  return schema;
}

const MAX_ATTEMPTS = 5;

/**
 * Reads the survey's items, lets `plan` decide one change (or throw), stores it with the
 * recomputed state. A concurrent change to the same survey makes the write a no-op: read again.
 */
async function changeItems(
  db: Db,
  survey: SurveyRow,
  schema: Schema,
  plan: (items: SurveyItemRow[]) => { change: ItemChange; after: ItemFacts[] },
) {
  let current = survey;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const items = await listItems(db, current.id);
    const { change, after } = plan(items);
    const state = surveyState(schema.questions, after);
    if (await applyItemChange(db, current.id, current.revision, change, state)) return state;
    const fresh = await getSurvey(db, current.id);
    if (!fresh) throw notFound("Survey");
    current = fresh;
  }
  throw conflict("The survey changed concurrently; retry");
}

function alreadyAnswered(): never {
  throw conflict("This question already has an answer in this survey", {
    question: [CODES.alreadyAnswered],
  });
}

const create = createRoute({
  method: "post",
  path: "/api/surveys",
  tags,
  summary: "Start a survey on a published schema (admin for anyone, a client for itself)",
  security: bearerSecurity,
  middleware: [requireCaller, idempotent] as const,
  request: { headers: IdempotencyHeaders, body: jsonBody(SurveyCreate) },
  responses: {
    201: jsonResponse(Survey, "The survey with its initial state"),
    ...errorResponses(400, 401, 403, 409, 422),
  },
});

const list = createRoute({
  method: "get",
  path: "/api/surveys",
  tags,
  summary: "The caller's own surveys, newest first (admin: everyone's, or `?user_id=`)",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { query: PaginationQuery.extend({ user_id: UserId.max(128).optional() }) },
  responses: { 200: jsonResponse(listOf(Survey), "One page"), ...errorResponses(400, 401) },
});

const get = createRoute({
  method: "get",
  path: "/api/surveys/{id}",
  tags,
  summary: "A survey with `state: {visibility: [qids], completed}`",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { params: SurveyParam },
  responses: { 200: jsonResponse(Survey, "The survey"), ...errorResponses(401, 404) },
});

const listItemsRoute = createRoute({
  method: "get",
  path: "/api/surveys/{id}/items",
  tags,
  summary: "The survey's items in question order",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { params: SurveyParam, query: PaginationQuery },
  responses: {
    200: jsonResponse(listOf(SurveyItem), "One page"),
    ...errorResponses(400, 401, 404),
  },
});

const addItem = createRoute({
  method: "post",
  path: "/api/surveys/{id}/items",
  tags,
  summary: "Answer a question (validated like a scripted answer; one item per question)",
  security: bearerSecurity,
  middleware: [requireCaller, idempotent] as const,
  request: { headers: IdempotencyHeaders, params: SurveyParam, body: jsonBody(SurveyItemInput) },
  responses: {
    201: jsonResponse(SurveyItem, "The item and the survey's new state"),
    ...errorResponses(400, 401, 404, 409, 422),
  },
});

const getItem = createRoute({
  method: "get",
  path: "/api/surveys/{id}/items/{pk}",
  tags,
  summary: "One item",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { params: ItemParam },
  responses: { 200: jsonResponse(SurveyItem, "The item"), ...errorResponses(401, 404) },
});

const patchItem = createRoute({
  method: "patch",
  path: "/api/surveys/{id}/items/{pk}",
  tags,
  summary: "Change an item's answers or text (validated again)",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { params: ItemParam, body: jsonBody(SurveyItemPatch) },
  responses: {
    200: jsonResponse(SurveyItem, "The item and the survey's new state"),
    ...errorResponses(400, 401, 404, 409),
  },
});

const deleteItemRoute = createRoute({
  method: "delete",
  path: "/api/surveys/{id}/items/{pk}",
  tags,
  summary: "Remove an item; the survey's state is recomputed",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { params: ItemParam },
  responses: { 204: { description: "Removed" }, ...errorResponses(401, 404, 409) },
});

const facts = (items: SurveyItemRow[]): ItemFacts[] =>
  items.map((i) => ({ qid: i.qid, answers: i.answers }));

export const surveyRoutes = createRouter({ fieldErrors: chatFieldErrors })
  .openapi(create, async (c) => {
    const body = c.req.valid("json");
    const caller = c.var.caller;
    const userId = caller.kind === "user" ? (body.user_id ?? caller.user.id) : body.user_id;
    if (!userId) throw badRequest("`user_id` is required", { user_id: [CODES.required] });
    if (caller.kind === "user" && userId !== caller.user.id) {
      throw forbidden("A client may only start surveys for itself", {
        user_id: [CODES.notAllowed],
      });
    }
    const db = getDb(c.env.DB);
    const settings = schemaSettings(c.env);
    const schema = await loadSchema(db, body.schema_id);
    if (!schema || (caller.kind !== "admin" && !settings.gettableTypes.includes(schema.type))) {
      throw badRequest("No such schema", { schema_id: [CODES.wrongValue] });
    }
    if (!settings.surveyTypes.includes(schema.type)) {
      throw badRequest(`Schemas of type '${schema.type}' are not allowed for surveys`, {
        schema_id: [CODES.notAllowed],
      });
    }
    if (!schema.published || schema.deprecated) {
      throw badRequest("Surveys start on the published, current version of a schema", {
        schema_id: [CODES.wrongState],
      });
    }
    const survey = await insertSurvey(db, {
      id: crypto.randomUUID(),
      userId,
      schemaId: schema.id,
      state: surveyState(schema.questions, []),
    });
    return c.json(surveyJson(survey), 201);
  })
  .openapi(list, async (c) => {
    const { limit, offset, user_id } = c.req.valid("query");
    const caller = c.var.caller;
    const userId = caller.kind === "user" ? caller.user.id : (user_id ?? null);
    const rows = await listSurveys(getDb(c.env.DB), userId, limit + 1, offset);
    return c.json(page(rows.map(surveyJson), limit, offset), 200);
  })
  .openapi(get, async (c) => {
    const survey = await ownSurvey(getDb(c.env.DB), c.var.caller, c.req.valid("param").id);
    return c.json(surveyJson(survey), 200);
  })
  .openapi(listItemsRoute, async (c) => {
    const { limit, offset } = c.req.valid("query");
    const db = getDb(c.env.DB);
    const survey = await ownSurvey(db, c.var.caller, c.req.valid("param").id);
    const items = await listItems(db, survey.id);
    const paged = page(items.slice(offset, offset + limit + 1), limit, offset);
    return c.json({ ...paged, results: paged.results.map((i) => itemJson(i, survey.state)) }, 200);
  })
  .openapi(addItem, async (c) => {
    const body = c.req.valid("json");
    const db = getDb(c.env.DB);
    const survey = await ownSurvey(db, c.var.caller, c.req.valid("param").id);
    const schema = await schemaOf(db, survey);
    const check = checkItem(schema, body.question, body);
    if (!check.ok) throw badRequest("Invalid answer", check.errors);
    const { question, answer } = check;
    const item = {
      id: crypto.randomUUID(),
      surveyId: survey.id,
      questionId: question.id,
      qid: question.qid,
      answers: answer.answers,
      text: answer.text,
      position: question.position,
    };
    try {
      const state = await changeItems(db, survey, schema, (items) => {
        if (items.some((i) => i.questionId === question.id)) alreadyAnswered();
        return { change: { kind: "insert", item }, after: [...facts(items), item] };
      });
      return c.json(itemJson(item, state), 201);
    } catch (err) {
      if (isConstraintViolation(err, "UNIQUE")) alreadyAnswered();
      throw err;
    }
  })
  .openapi(getItem, async (c) => {
    const { id, pk } = c.req.valid("param");
    const db = getDb(c.env.DB);
    const survey = await ownSurvey(db, c.var.caller, id);
    const item = (await listItems(db, survey.id)).find((i) => i.id === pk);
    if (!item) throw notFound("Survey item");
    return c.json(itemJson(item, survey.state), 200);
  })
  .openapi(patchItem, async (c) => {
    const { id, pk } = c.req.valid("param");
    const body = c.req.valid("json");
    const db = getDb(c.env.DB);
    const survey = await ownSurvey(db, c.var.caller, id);
    const schema = await schemaOf(db, survey);
    let saved: SurveyItemRow | undefined;
    const state = await changeItems(db, survey, schema, (items) => {
      const item = items.find((i) => i.id === pk);
      if (!item) throw notFound("Survey item");
      const check = checkItem(schema, item.questionId, {
        answers: body.answers ?? item.answers,
        text: body.text !== undefined ? body.text : item.text,
      });
      if (!check.ok) throw badRequest("Invalid answer", check.errors);
      saved = { ...item, answers: check.answer.answers, text: check.answer.text };
      const updated = saved;
      return {
        change: { kind: "update", id: item.id, answers: updated.answers, text: updated.text },
        after: facts(items.map((i) => (i.id === pk ? updated : i))),
      };
    });
    return c.json(itemJson(saved!, state), 200);
  })
  .openapi(deleteItemRoute, async (c) => {
    const { id, pk } = c.req.valid("param");
    const db = getDb(c.env.DB);
    const survey = await ownSurvey(db, c.var.caller, id);
    const schema = await schemaOf(db, survey);
    await changeItems(db, survey, schema, (items) => {
      if (!items.some((i) => i.id === pk)) throw notFound("Survey item");
      return { change: { kind: "delete", id: pk }, after: facts(items.filter((i) => i.id !== pk)) };
    });
    return c.body(null, 204);
  });
