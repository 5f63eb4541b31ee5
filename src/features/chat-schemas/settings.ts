import { z } from "zod";

/**
 * Settings of the schema area in one typed place (the chat API's `CHAT_SETTINGS` schema part).
 * Defaults below; a deployment overrides them with the env vars `CHAT_SCHEMA_SETTINGS` (JSON,
 * any subset of the keys) and `ALLOW_EDIT_PUBLISHED_SCHEMAS` (`true`/`false`).
 */
export interface SchemaSettings {
  /** Schema types an admin may create. */
  types: string[];
  /** Types non-admin callers see in `GET /api/schemas`. */
  listableTypes: string[];
  /** Types non-admin callers may read with `GET /api/schemas/:id`. */
  gettableTypes: string[];
  /** Types a survey may be started on (else `NOT_ALLOWED`). */
  surveyTypes: string[];
  /** Published schemas are read-only unless this is true. */
  allowEditPublished: boolean;
  /** The language of texts given as a plain string, and the fallback when none matches. */
  defaultLang: string;
}

/**
 * The original chat API's types come first (`survey`, `automated_flow`: contract §7), so its
 * clients keep working; `chat` and `internal` are Switchboard's earlier names, kept for the
 * schemas already stored under them.
 */
export const DEFAULT_SCHEMA_SETTINGS: SchemaSettings = {
  types: ["survey", "automated_flow", "chat", "internal"],
  listableTypes: ["survey", "automated_flow", "chat"],
  gettableTypes: ["survey", "automated_flow", "chat"],
  surveyTypes: ["survey"],
  allowEditPublished: false,
  defaultLang: "en",
};

const typeList = z.array(z.string().min(1).max(64)).max(100);

const Overrides = z
  .object({
    types: typeList,
    listable_types: typeList,
    gettable_types: typeList,
    survey_types: typeList,
    allow_edit_published: z.boolean(),
    default_lang: z.string().min(2).max(16),
  })
  .partial()
  .strict();

const SettingsEnv = z.object({
  CHAT_SCHEMA_SETTINGS: z.string().optional(),
  ALLOW_EDIT_PUBLISHED_SCHEMAS: z.enum(["true", "false", "1", "0"]).optional(),
});

/**
 * The effective settings for an env. A malformed override is a deployment error: it throws at
 * the first request that needs the settings rather than silently running on defaults.
 */
export function schemaSettings(env: unknown): SchemaSettings {
  let vars: z.output<typeof SettingsEnv>;
  let overrides: z.output<typeof Overrides>;
  try {
    vars = SettingsEnv.parse(env);
    overrides = vars.CHAT_SCHEMA_SETTINGS
      ? Overrides.parse(JSON.parse(vars.CHAT_SCHEMA_SETTINGS))
      : {};
  } catch (err) {
    // Not the caller's fault: an internal error, logged once by the app's error handler.
    throw new Error(`Invalid CHAT_SCHEMA_SETTINGS / ALLOW_EDIT_PUBLISHED_SCHEMAS: ${String(err)}`);
  }
  const d = DEFAULT_SCHEMA_SETTINGS;
  const allowEditPublished =
    vars.ALLOW_EDIT_PUBLISHED_SCHEMAS !== undefined
      ? vars.ALLOW_EDIT_PUBLISHED_SCHEMAS === "true" || vars.ALLOW_EDIT_PUBLISHED_SCHEMAS === "1"
      : (overrides.allow_edit_published ?? d.allowEditPublished);
  return {
    types: overrides.types ?? d.types,
    listableTypes: overrides.listable_types ?? d.listableTypes,
    gettableTypes: overrides.gettable_types ?? d.gettableTypes,
    surveyTypes: overrides.survey_types ?? d.surveyTypes,
    allowEditPublished,
    defaultLang: overrides.default_lang ?? d.defaultLang,
  };
}
