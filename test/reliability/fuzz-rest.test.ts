import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { ROOM_KINDS } from "../../src/rooms";
import { ADMIN, call } from "../helpers/http";
import { BUILTIN_KEYS, jsonWithKey } from "../helpers/reliability/frame-arbitraries";
import { validValue } from "../helpers/reliability/openapi-bounds";
import {
  type FuzzRequest,
  type Operation,
  operationsOf,
  requests,
} from "../helpers/reliability/rest-arbitraries";
import { FC_REST_RUNS, FC_SEED, REST_REQUESTS_AT_LEAST } from "../helpers/reliability/runs";
import { figure } from "../helpers/reliability/soak";
import {
  expectHttpError,
  expectNoStack,
  fetchWorker,
  snapshotD1,
} from "../helpers/reliability/support";
import {
  ALL_PERMISSIONS,
  bodyIds,
  buildWorld,
  realParam,
  user,
  type World,
} from "../helpers/reliability/world";

/**
 * Property: random bodies, path parameters and queries for every operation of the OpenAPI
 * document, with the admin token and with a client token holding every permission, never get a
 * 5xx; every 4xx is the contract's error shape without a stack; a refused request leaves D1
 * exactly as it was.
 */

/** The document the Worker serves, built at collection time so each operation is its own test. */
const doc: any = createApp(ROOM_KINDS).getOpenAPI31Document({
  openapi: "3.1.0",
  info: { title: "Switchboard", version: "fuzz" },
});
const OPS = operationsOf(doc).sort((a, b) => Number(terminal(a)) - Number(terminal(b)));

let world: World;
let baseline: Record<string, string>;
let tried = 0;
let serverErrors = 0;
const statuses = new Map<number, number>();

/** Operations that end or freeze what others address run last, so the rest see live data. */
function terminal(op: Operation): boolean {
  return op.method === "DELETE" || /\/(end|publish)$/.test(op.path);
}

beforeAll(async () => {
  world = await buildWorld(await user("owner", ALL_PERMISSIONS));
  baseline = await snapshotD1();
});

afterAll(() => {
  figure("REST requests sent", tried, "requests");
  figure("REST 5xx answers", serverErrors, "answers");
  figure("REST statuses", JSON.stringify(Object.fromEntries(statuses)));
});

/** Sends one request; SSE streams that open are cancelled at once. */
async function send(op: Operation, req: FuzzRequest): Promise<{ status: number; text: string }> {
  const res = await fetchWorker(req.path, {
    method: op.method,
    headers: req.headers,
    body: req.body,
  });
  if (res.headers.get("Content-Type")?.includes("text/event-stream")) {
    await res.body?.cancel();
    return { status: res.status, text: "" };
  }
  return { status: res.status, text: await res.text() };
}

it("fuzzes every operation the Worker serves", async () => {
  const served = operationsOf((await call("GET", "/openapi.json")).body);
  expect(served.map((o) => `${o.method} ${o.path}`).sort()).toEqual(
    OPS.map((o) => `${o.method} ${o.path}`).sort(),
  );
  expect(OPS.filter((o) => o.body).length).toBeGreaterThan(20);
});

describe("keys named like JavaScript built-ins, at every operation", () => {
  it.each(OPS.filter((op) => op.body).map((op) => [`${op.method} ${op.path}`, op] as const))(
    "%s: a valid body with each key at its top and in every object is never a 5xx",
    async (_name, op) => {
      const wrong: string[] = [];
      const path = op.path.replace(/\{(\w+)\}/g, (_m, p: string) =>
        encodeURIComponent(realParam(world, op.path, p)),
      );
      for (const key of BUILTIN_KEYS) {
        for (const nested of [false, true]) {
          const body = jsonWithKey(
            validValue(doc, op.body, bodyIds(world)),
            key,
            { polluted: 1 },
            nested,
          );
          const res = await fetchWorker(op.path === "/{db}/bus" ? `${path}?timeout=1` : path, {
            method: op.method,
            headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
            body,
          });
          const text = await res.text();
          tried++;
          if (res.status >= 500) serverErrors++;
          if (res.status >= 500)
            wrong.push(`${key}${nested ? " (nested)" : ""}: ${res.status} ${text.slice(0, 200)}`);
          else if (res.status >= 400)
            expectHttpError(res.status, text, `${op.method} ${path} ${key}`);
        }
      }
      expect(wrong).toEqual([]);
    },
  );
});

describe.each(["admin", "client"] as const)("random REST input with the %s token", (tokenName) => {
  it.each(OPS.map((op) => [`${op.method} ${op.path}`, op] as const))(
    "%s: never 5xx, the error shape on 4xx, nothing stored when refused",
    async (_name, op) => {
      // The HTTP rate limit counts per user (600 per 10 s): each operation's client fuzzing gets
      // an owner and world of its own, so the routes answer rather than the limit. The admin is
      // not limited.
      const here =
        tokenName === "admin" ? world : await buildWorld(await user("owner", ALL_PERMISSIONS));
      if (here !== world) baseline = await snapshotD1();
      const token = tokenName === "admin" ? ADMIN : here.owner.token;
      await fc.assert(
        fc.asyncProperty(requests(doc, here, op, token), async (req) => {
          const what = `${op.method} ${req.path.slice(0, 200)} [${req.family}]`;
          const { status, text } = await send(op, req);
          tried++;
          if (status >= 500) serverErrors++;
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          expect(status, `${what}: ${text.slice(0, 300)}`).toBeLessThan(500);
          if (req.status !== undefined)
            expect(status, `${what}: ${text.slice(0, 300)}`).toBe(req.status);
          expectNoStack(text);
          const after = await snapshotD1();
          if (status >= 400) {
            expectHttpError(status, text, what);
            expect(after, `${what} was refused but changed D1`).toEqual(baseline);
          }
          baseline = after;
        }),
        { numRuns: FC_REST_RUNS, seed: FC_SEED, endOnFailure: true },
      );
    },
  );
});

// Declared last, so it runs after every request above (tests of a file run in order).
it(`sent at least ${REST_REQUESTS_AT_LEAST} generated requests, none answered 5xx`, () => {
  expect(tried).toBeGreaterThanOrEqual(REST_REQUESTS_AT_LEAST);
  expect(serverErrors).toBe(0);
});
