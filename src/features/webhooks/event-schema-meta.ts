import type { Schema } from "@cfworker/json-schema";

/**
 * The draft 2020-12 meta-schema, flattened into one document: the official one is split into
 * vocabularies joined by `$dynamicRef`, which the validator we use does not resolve. It checks
 * the keywords of the core, applicator, validation, format-annotation, content and meta-data
 * vocabularies; unknown keywords stay allowed (annotations, as the spec says).
 */
const sub: Schema = { $ref: "#" };
const schemaArray: Schema = { type: "array", minItems: 1, items: sub };
const schemaMap: Schema = { type: "object", additionalProperties: sub };
const count: Schema = { type: "integer", minimum: 0 };
const names: Schema = { type: "array", items: { type: "string" }, uniqueItems: true };
const simpleType: Schema = {
  enum: ["array", "boolean", "integer", "null", "number", "object", "string"],
};

export const META_SCHEMA: Schema = {
  type: ["object", "boolean"],
  properties: {
    $id: { type: "string" },
    $schema: { type: "string" },
    $ref: { type: "string" },
    $anchor: { type: "string", pattern: "^[A-Za-z_][-A-Za-z0-9._]*$" },
    $comment: { type: "string" },
    $defs: schemaMap,
    prefixItems: schemaArray,
    items: sub,
    contains: sub,
    additionalProperties: sub,
    properties: schemaMap,
    patternProperties: {
      type: "object",
      additionalProperties: sub,
      propertyNames: { format: "regex" },
    },
    dependentSchemas: schemaMap,
    propertyNames: sub,
    if: sub,
    // biome-ignore lint/suspicious/noThenProperty: the JSON Schema keyword; this object is never awaited
    then: sub,
    else: sub,
    not: sub,
    allOf: schemaArray,
    anyOf: schemaArray,
    oneOf: schemaArray,
    unevaluatedItems: sub,
    unevaluatedProperties: sub,
    type: {
      anyOf: [simpleType, { type: "array", items: simpleType, minItems: 1, uniqueItems: true }],
    },
    enum: { type: "array" },
    multipleOf: { type: "number", exclusiveMinimum: 0 },
    maximum: { type: "number" },
    exclusiveMaximum: { type: "number" },
    minimum: { type: "number" },
    exclusiveMinimum: { type: "number" },
    maxLength: count,
    minLength: count,
    pattern: { type: "string", format: "regex" },
    maxItems: count,
    minItems: count,
    uniqueItems: { type: "boolean" },
    maxContains: count,
    minContains: count,
    maxProperties: count,
    minProperties: count,
    required: names,
    dependentRequired: { type: "object", additionalProperties: names },
    format: { type: "string" },
    contentEncoding: { type: "string" },
    contentMediaType: { type: "string" },
    contentSchema: sub,
    title: { type: "string" },
    description: { type: "string" },
    deprecated: { type: "boolean" },
    readOnly: { type: "boolean" },
    writeOnly: { type: "boolean" },
    examples: { type: "array" },
  },
};
