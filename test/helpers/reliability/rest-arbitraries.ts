import fc from "fast-check";
import { anyText, BUILTIN_KEYS, builtinKeyValue, deepJson, jsonWithKey } from "./frame-arbitraries";
import { validValue } from "./openapi-bounds";
import { bodyIds, realParam, type World } from "./world";

/** The request body limit (1 MiB): a body over it is refused with 413 before it is parsed. */
export const BODY_LIMIT = 1024 * 1024;

/** One operation of the OpenAPI document. */
export interface Operation {
  method: string;
  path: string;
  params: { name: string; in: string; schema?: any }[];
  body?: any;
}

export interface FuzzRequest {
  family: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array | ReadableStream<Uint8Array>;
  /** The status the answer must have, when the family fixes it. */
  status?: number;
}

/** `size` bytes of a JSON body, streamed in 64 KiB chunks without a Content-Length. */
export function streamedBody(size: number): ReadableStream<Uint8Array> {
  const chunk = 64 * 1024;
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const n = Math.min(chunk, size - sent);
      controller.enqueue(new TextEncoder().encode((sent === 0 ? "[" : "").padEnd(n, " ")));
      sent += n;
    },
  });
}

/** The operations of `GET /openapi.json`, with `$ref`s of their bodies resolved lazily. */
export function operationsOf(doc: any): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      ops.push({
        method: method.toUpperCase(),
        path,
        params: op.parameters ?? [],
        body: op.requestBody?.content?.["application/json"]?.schema,
      });
    }
  }
  return ops;
}

/** Values that look like what the schema asks for, often slightly or wildly wrong. */
export function fromSchema(doc: any, schema: any, depth = 0): fc.Arbitrary<unknown> {
  const garbage = fc.jsonValue({ maxDepth: 2 });
  if (!schema || depth > 4) return garbage;
  if (schema.$ref) {
    const name = String(schema.$ref).split("/").pop()!;
    return fromSchema(doc, doc.components?.schemas?.[name], depth + 1);
  }
  const options = [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])];
  if (options.length) return fc.oneof(...options.map((s: any) => fromSchema(doc, s, depth + 1)));
  const shaped = shapedValue(doc, schema, depth);
  return fc.oneof({ arbitrary: shaped, weight: 4 }, { arbitrary: garbage, weight: 1 });
}

function shapedValue(doc: any, schema: any, depth: number): fc.Arbitrary<unknown> {
  if (Array.isArray(schema.enum)) {
    return fc.oneof(fc.constantFrom(...schema.enum), anyText(10));
  }
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "object": {
      const props = Object.entries<any>(schema.properties ?? {});
      const record = Object.fromEntries(props.map(([k, s]) => [k, fromSchema(doc, s, depth + 1)]));
      return fc
        .tuple(
          fc.record(record, { requiredKeys: [] }),
          fc.dictionary(anyText(8), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }),
          fc.boolean(),
        )
        .map(([known, extra, withExtra]) => (withExtra ? { ...extra, ...known } : known));
    }
    case "array":
      return fc.array(fromSchema(doc, schema.items, depth + 1), { maxLength: 4 });
    case "string":
      return fc.oneof(
        anyText(40),
        fc.constantFrom(
          "",
          "x".repeat(300),
          "https://example.com/",
          "http://127.0.0.1/",
          "javascript:alert(1)",
          "<script>alert(1)</script>",
          "2026-01-01T00:00:00Z",
          "'; DROP TABLE threads; --",
          ...(schema.example !== undefined ? [schema.example] : []),
        ),
      );
    case "integer":
    case "number":
      return fc.oneof(
        fc.integer(),
        fc.double({ noNaN: true }).map((n) => (Number.isFinite(n) ? n : 1e308)),
        fc.constantFrom(0, -1, 1, 2 ** 53, -(2 ** 53), 1e308),
      );
    case "boolean":
      return fc.boolean();
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A path parameter: the world's real id, or something hostile. */
function param(world: World, op: Operation, name: string): fc.Arbitrary<string> {
  const encoded = fc
    .oneof(
      fc.string({ unit: "grapheme", maxLength: 60 }),
      fc.constantFrom("..", "0", "-1", "null", "undefined", "' OR 1=1 --", "x".repeat(3_000)),
    )
    .filter((s) => s.length > 0)
    .map(encodeURIComponent);
  const raw = fc.constantFrom("%", "%zz", "%E0%A4%A", "%00", "a%2Fb", "%2e%2e", "~", "a;b");
  return fc.oneof(
    { arbitrary: fc.constant(realParam(world, op.path, name)), weight: 3 },
    { arbitrary: encoded, weight: 2 },
    { arbitrary: raw, weight: 1 },
  );
}

function query(op: Operation): fc.Arbitrary<string> {
  const names = op.params.filter((p) => p.in === "query").map((p) => p.name);
  const value = fc.oneof(
    fc.constantFrom(
      "0",
      "1",
      "-1",
      "50",
      "200",
      "201",
      "1e3",
      "abc",
      "",
      "null",
      "99999999999999999999",
    ),
    fc.string({ unit: "grapheme", maxLength: 20 }),
  );
  return fc
    .tuple(
      ...names.map((n) =>
        fc.option(
          value.map((v) => [n, v] as const),
          { nil: undefined },
        ),
      ),
    )
    .map((pairs) => {
      const search = new URLSearchParams();
      for (const pair of pairs) if (pair) search.append(pair[0], pair[1]);
      // A long poll that happens to be valid must not wait for the default 30 s.
      if (op.path === "/{db}/bus" && !search.has("timeout")) search.set("timeout", "1");
      return search.size ? `?${search}` : "";
    });
}

type Body = {
  family: string;
  body?: string | Uint8Array | (() => ReadableStream<Uint8Array>);
  type?: string;
  status?: number;
};

/** Request bodies by family: shaped like the schema, any JSON, not JSON, huge, deep. */
function bodies(doc: any, op: Operation, world: World): fc.Arbitrary<Body> {
  const json = (family: string, arb: fc.Arbitrary<unknown>) =>
    arb.map((v) => ({ family, body: JSON.stringify(v) ?? "null" }));
  const families: fc.Arbitrary<Body>[] = [
    json("schema-shaped body", fromSchema(doc, op.body)),
    json("any JSON body", fc.jsonValue({ maxDepth: 4 })),
    anyText(100)
      .filter((t) => !isJson(t))
      .map((body) => ({ family: "body not JSON", body })),
    fc.jsonValue({ maxDepth: 2 }).map((v) => ({
      family: "JSON with the wrong content type",
      body: JSON.stringify(v) ?? "null",
      type: "text/plain",
    })),
    fc.integer({ min: 100, max: 1_024 }).map((kib) => ({
      family: "body up to a megabyte",
      body: JSON.stringify({ text: "x".repeat(kib * 1024) }),
    })),
    deepJson.map((deep) => ({
      family: "deeply nested body",
      body: `{"data":${deep},"message":${deep}}`,
    })),
    fc.uint8Array({ maxLength: 64 }).map((body) => ({ family: "binary body", body })),
    fc.constant({ family: "no body" }),
    // A valid body with a key named like a JavaScript built-in at its top and in every object.
    fc
      .tuple(fc.constantFrom(...BUILTIN_KEYS), builtinKeyValue, fc.boolean())
      .map(([key, extra, nested]) => ({
        family: "built-in-name keys",
        body: jsonWithKey(validValue(doc, op.body, bodyIds(world)), key, extra, nested),
      })),
    // Over the limit: 413 whatever the route, told by Content-Length...
    fc.integer({ min: BODY_LIMIT + 1, max: BODY_LIMIT + 512 * 1024 }).map((size) => ({
      family: "body over 1 MiB",
      body: JSON.stringify({ text: "x".repeat(size - 11) }),
      status: 413,
    })),
  ];
  // ...or while streaming (no Content-Length): only a route that reads its body can tell.
  if (op.body) {
    families.push(
      fc.integer({ min: BODY_LIMIT + 1, max: BODY_LIMIT + 512 * 1024 }).map((size) => ({
        family: "streamed body over 1 MiB",
        body: () => streamedBody(size),
        status: 413,
      })),
    );
  }
  return fc.oneof(...families);
}

/** Requests for one operation with one token. */
export function requests(
  doc: any,
  world: World,
  op: Operation,
  token: string,
): fc.Arbitrary<FuzzRequest> {
  const names = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  return fc
    .tuple(fc.tuple(...names.map((n) => param(world, op, n))), query(op), bodies(doc, op, world))
    .map(([values, search, body]) => {
      let path = op.path;
      names.forEach((n, i) => {
        path = path.replace(`{${n}}`, values[i]!);
      });
      const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
      // GET cannot carry a body; its families then differ only in path and query.
      const sent = op.method === "GET" ? undefined : body.body;
      if (sent !== undefined) headers["Content-Type"] = body.type ?? "application/json";
      const req: FuzzRequest = {
        family: body.family,
        path: `${path}${search}`,
        headers,
        body: typeof sent === "function" ? sent() : sent,
        status: op.method === "GET" ? undefined : body.status,
      };
      // A counterexample is printed: a megabyte body is shown by its size and start only.
      return Object.assign(req, { [fc.toStringMethod]: () => shown(req) });
    });
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function shown(req: FuzzRequest): string {
  const body =
    typeof req.body === "string"
      ? `${req.body.length} chars: ${req.body.slice(0, 200)}`
      : req.body instanceof Uint8Array
        ? `${req.body.byteLength} bytes`
        : req.body
          ? "a stream"
          : "none";
  return `${req.family} ${req.path} body ${body}`;
}
