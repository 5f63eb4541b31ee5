import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { Caller } from "../../platform/auth/caller";
import { requireAdmin, requireCaller } from "../../platform/auth/middleware";
import { getDb } from "../../platform/db";
import { badRequest, conflict, notFound } from "../../platform/errors";
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
import { chatFieldErrors } from "../threads";
import { CODES } from "./answer-input";
import type { Schema } from "./model";
import {
  insertSchema,
  isConstraintViolation,
  listSchemas,
  loadSchema,
  nextVersion,
  publishSchema,
  replaceSchema,
} from "./queries";
import { draftTree, LangTag, SchemaCreate, SchemaPatch, type TreeDraft } from "./schema-input";
import { SchemaOut, SchemaSummaryOut, schemaJson, summaryJson, treeOf } from "./serialize";
import { type SchemaSettings, schemaSettings } from "./settings";
import { validateTree } from "./validate-schema";

const IdParam = z.object({ id: z.string().min(1).max(100) });
const LangQuery = z.object({
  lang: LangTag.optional().openapi({ description: "Language of `text` (default: the token's)" }),
});
const tags = ["schemas"];

function checkTree(tree: TreeDraft, defaultLang: string, type: string, settings: SchemaSettings) {
  const errors = validateTree(tree, defaultLang);
  if (!settings.types.includes(type)) errors.type = [CODES.notAllowed];
  if (Object.keys(errors).length) {
    throw badRequest(`The schema is invalid: ${Object.keys(errors).join(", ")}`, errors);
  }
}

function langOf(caller: Caller, query: string | undefined): string | null {
  return query ?? (caller.kind === "user" ? (caller.lang ?? null) : null);
}

/** Non-admin callers see published schemas of the listable / gettable types only. */
function visibleTo(caller: Caller, schema: Schema, settings: SchemaSettings): boolean {
  if (caller.kind === "admin") return true;
  return schema.published && settings.gettableTypes.includes(schema.type);
}

async function mustLoad(db: ReturnType<typeof getDb>, id: string): Promise<Schema> {
  const schema = await loadSchema(db, id);
  if (!schema) throw notFound("Schema");
  return schema;
}

async function insertVersion(
  db: ReturnType<typeof getDb>,
  head: { name: string; type: string; defaultLang: string },
  tree: TreeDraft,
): Promise<string> {
  const id = crypto.randomUUID();
  try {
    await insertSchema(db, { id, ...head, version: await nextVersion(db, head.name) }, tree);
  } catch (err) {
    if (isConstraintViolation(err, "UNIQUE")) {
      throw conflict("Another version of this schema was created at the same time; retry");
    }
    throw err;
  }
  return id;
}

const create = createRoute({
  method: "post",
  path: "/api/schemas",
  tags,
  summary: "Create a schema (a new unpublished version of `name`)",
  description:
    "Creates version 1 of a new name, or the next version of an existing one. Questions with `answers`, `next_qid` (-1 ends), types `choice multichoice text date time datetime int float range message control fork`, `variables` (set/add/subtract/copy_answer) and `fork` rules. Texts are a string (the default language) or `{lang: text}`.",
  security: bearerSecurity,
  middleware: [requireAdmin, idempotent] as const,
  request: { headers: IdempotencyHeaders, body: jsonBody(SchemaCreate) },
  responses: {
    201: jsonResponse(SchemaOut, "The schema, unpublished"),
    ...errorResponses(400, 401, 403, 409, 422),
  },
});

const list = createRoute({
  method: "get",
  path: "/api/schemas",
  tags,
  summary: "List schemas (non-admins: published, of the listable types)",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: {
    query: PaginationQuery.extend({
      name: z.string().max(200).optional(),
      type: z.string().max(64).optional(),
    }),
  },
  responses: {
    200: jsonResponse(listOf(SchemaSummaryOut), "One page of schema versions"),
    ...errorResponses(400, 401),
  },
});

const get = createRoute({
  method: "get",
  path: "/api/schemas/{id}",
  tags,
  summary: "A schema with its groups, questions and answers",
  security: bearerSecurity,
  middleware: [requireCaller] as const,
  request: { params: IdParam, query: LangQuery },
  responses: {
    200: jsonResponse(SchemaOut, "The schema"),
    ...errorResponses(401, 404),
  },
});

const edit = createRoute({
  method: "patch",
  path: "/api/schemas/{id}",
  tags,
  summary: "Edit an unpublished schema (replaces groups/questions when given)",
  description:
    "Published schemas are read-only (409 with `published: [WRONG_STATE]`) unless the deployment sets `ALLOW_EDIT_PUBLISHED_SCHEMAS`.",
  security: bearerSecurity,
  middleware: [requireAdmin] as const,
  request: { params: IdParam, body: jsonBody(SchemaPatch) },
  responses: {
    200: jsonResponse(SchemaOut, "The edited schema"),
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

const publish = createRoute({
  method: "post",
  path: "/api/schemas/{id}/publish",
  tags,
  summary: "Publish a version; older published versions of the name become deprecated",
  security: bearerSecurity,
  middleware: [requireAdmin] as const,
  request: { params: IdParam },
  responses: {
    200: jsonResponse(SchemaOut, "The published schema"),
    ...errorResponses(400, 401, 403, 404),
  },
});

const copy = createRoute({
  method: "post",
  path: "/api/schemas/{id}/copy",
  tags,
  summary: "Deep-copy a schema into the next unpublished version of its name",
  security: bearerSecurity,
  middleware: [requireAdmin, idempotent] as const,
  request: { headers: IdempotencyHeaders, params: IdParam },
  responses: {
    201: jsonResponse(SchemaOut, "The new version"),
    ...errorResponses(401, 403, 404, 409, 422),
  },
});

export const schemaRoutes = createRouter({ fieldErrors: chatFieldErrors })
  .openapi(create, async (c) => {
    const body = c.req.valid("json");
    const settings = schemaSettings(c.env);
    const lang = body.default_lang ?? settings.defaultLang;
    const tree = draftTree(body.groups, body.questions, lang);
    checkTree(tree, lang, body.type, settings);
    const db = getDb(c.env.DB);
    const id = await insertVersion(
      db,
      { name: body.name, type: body.type, defaultLang: lang },
      tree,
    );
    return c.json(schemaJson(await mustLoad(db, id), null), 201);
  })
  .openapi(list, async (c) => {
    const { limit, offset, name, type } = c.req.valid("query");
    const settings = schemaSettings(c.env);
    const admin = c.var.caller.kind === "admin";
    const rows = await listSchemas(
      getDb(c.env.DB),
      { types: admin ? undefined : settings.listableTypes, name, type, publishedOnly: !admin },
      limit + 1,
      offset,
    );
    return c.json(page(rows.map(summaryJson), limit, offset), 200);
  })
  .openapi(get, async (c) => {
    const schema = await mustLoad(getDb(c.env.DB), c.req.valid("param").id);
    if (!visibleTo(c.var.caller, schema, schemaSettings(c.env))) throw notFound("Schema");
    return c.json(schemaJson(schema, langOf(c.var.caller, c.req.valid("query").lang)), 200);
  })
  .openapi(edit, async (c) => {
    const db = getDb(c.env.DB);
    const body = c.req.valid("json");
    const settings = schemaSettings(c.env);
    const schema = await mustLoad(db, c.req.valid("param").id);
    if (schema.published && !settings.allowEditPublished) {
      throw conflict("A published schema is read-only; copy it to a new version", {
        published: [CODES.wrongState],
      });
    }
    const lang = body.default_lang ?? schema.defaultLang;
    const current = treeOf(schema);
    const tree: TreeDraft = {
      groups: body.groups ? draftTree(body.groups, [], lang).groups : current.groups,
      questions: body.questions ? draftTree([], body.questions, lang).questions : current.questions,
    };
    const type = body.type ?? schema.type;
    checkTree(tree, lang, type, settings);
    try {
      await replaceSchema(db, schema, { type, defaultLang: lang }, tree);
    } catch (err) {
      if (isConstraintViolation(err, "FOREIGN KEY")) {
        throw conflict("A question that survey items answer cannot be removed", {
          questions: [CODES.alreadyAnswered],
        });
      }
      throw err;
    }
    return c.json(schemaJson(await mustLoad(db, schema.id), null), 200);
  })
  .openapi(publish, async (c) => {
    const db = getDb(c.env.DB);
    const schema = await mustLoad(db, c.req.valid("param").id);
    if (!schema.questions.length) {
      throw badRequest("A schema without questions cannot be published", {
        questions: [CODES.required],
      });
    }
    if (!schema.published) await publishSchema(db, schema);
    return c.json(schemaJson(await mustLoad(db, schema.id), null), 200);
  })
  .openapi(copy, async (c) => {
    const db = getDb(c.env.DB);
    const schema = await mustLoad(db, c.req.valid("param").id);
    const id = await insertVersion(
      db,
      { name: schema.name, type: schema.type, defaultLang: schema.defaultLang },
      treeOf(schema),
    );
    return c.json(schemaJson(await mustLoad(db, id), null), 201);
  });
