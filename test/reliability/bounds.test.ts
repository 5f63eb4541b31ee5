import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN } from "../helpers/http";
import { snapshotRoom } from "../helpers/reliability/frame-actor";
import {
  type BoundedField,
  bodyWith,
  detailKeys,
  fieldsOf,
  valueOfLength,
} from "../helpers/reliability/openapi-bounds";
import { type Operation, operationsOf } from "../helpers/reliability/rest-arbitraries";
import { api, fetchWorker, snapshotD1 } from "../helpers/reliability/support";
import {
  ALL_PERMISSIONS,
  bodyIds,
  buildWorld,
  realParam,
  user,
  type World,
} from "../helpers/reliability/world";

/**
 * Every string and list field of every request body, at its documented maximum and one over,
 * with the maxima read from `GET /openapi.json` (the one source: a bound the document states is
 * a bound the Worker enforces). At the maximum: never a 5xx and never a complaint about that
 * field's size. One over: 400 (or 413) naming the field in `details`, and D1 unchanged.
 */

const doc = (await api("GET", "/openapi.json")).body;
const OPS = operationsOf(doc).filter((op) => op.body && op.method !== "GET");

const name = (f: BoundedField) => f.path.join(".") || "(body)";

/** Size complaints in the default renderer (zod) and the chat renderer (TOO_MANY). */
const SIZE = /too (big|long|large|many)|at most|maximum|exceed|TOO_MANY|<=/i;

describe("documented maxima", () => {
  it("every string and list field of every request body has one", () => {
    const missing = OPS.flatMap((op) =>
      fieldsOf(doc, op.body)
        .filter((f) => f.max === undefined)
        .map((f) => `${op.method} ${op.path}: ${name(f)} (${f.kind})`),
    );
    expect(missing).toEqual([]);
  });
});

function pathOf(op: Operation, world: World): string {
  const path = op.path.replace(/\{(\w+)\}/g, (_m, param: string) =>
    encodeURIComponent(realParam(world, op.path, param)),
  );
  return op.path === "/{db}/bus" ? `${path}?timeout=1` : path;
}

async function send(op: Operation, path: string, body: unknown) {
  const res = await fetchWorker(path, {
    method: op.method,
    headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.headers.get("Content-Type")?.includes("text/event-stream")) {
    await res.body?.cancel();
    return { status: res.status, body: null, text: "" };
  }
  const text = await res.text();
  let parsed: any = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: the assertions show the text
  }
  return { status: res.status, body: parsed, text };
}

/** The problems `details` lists under this field's path, if any. */
function problemsAt(details: any, field: BoundedField): string[] | undefined {
  if (!details || typeof details !== "object") return undefined;
  const key = detailKeys(field).find((k) => Object.hasOwn(details, k));
  return key === undefined ? undefined : [].concat(details[key]).map(String);
}

const CASES = OPS.flatMap((op) =>
  fieldsOf(doc, op.body)
    .filter((f) => f.max !== undefined)
    .map((f) => [`${op.method} ${op.path}: ${name(f)}`, op, f] as const),
);

describe("every bounded field at its maximum and one over", () => {
  let world: World | undefined;
  const worldFor = async () => {
    world ??= await buildWorld(await user("bounds", ALL_PERMISSIONS));
    return world;
  };

  it("covers the document", () => {
    expect(CASES.length).toBeGreaterThan(50);
  });

  it.each(CASES)("%s", async (_label, op, field) => {
    // Routes that end or delete what they address get a world of their own.
    const here = /\/(end|publish)$/.test(op.path)
      ? await buildWorld(await user("b", ALL_PERMISSIONS))
      : await worldFor();
    const ids = bodyIds(here);
    const path = pathOf(op, here);
    const max = field.max!;

    const atMax = await send(
      op,
      path,
      bodyWith(doc, op.body, field.path, valueOfLength(doc, field, max, ids), ids),
    );
    const shown = `${op.method} ${path} ${name(field)}=${max}: ${atMax.text.slice(0, 300)}`;
    expect(atMax.status, shown).toBeLessThan(500);
    expect(atMax.status, shown).not.toBe(413);
    const atMaxProblems = problemsAt(atMax.body?.error?.details, field);
    if (atMaxProblems) {
      // Named at the maximum: only for what it says, never for its size. The chat routes' code
      // WRONG_VALUE says either, so then the field at its shortest must get it too.
      expect(
        atMaxProblems.filter((p) => SIZE.test(p)),
        shown,
      ).toEqual([]);
      if (atMaxProblems.includes("WRONG_VALUE")) {
        const short = Math.max(field.schema.minLength ?? field.schema.minItems ?? 1, 1);
        const shortValue = valueOfLength(doc, field, short, ids);
        const atShort = await send(op, path, bodyWith(doc, op.body, field.path, shortValue, ids));
        expect(
          problemsAt(atShort.body?.error?.details, field),
          `${shown} (but not at ${short})`,
        ).toContain("WRONG_VALUE");
      }
    }

    // Bus messages live in the namespace's own storage, the rest in D1.
    const stored = () =>
      Promise.all([
        snapshotD1(),
        op.path.includes("{db}")
          ? snapshotRoom(env.BUS_CHANNEL.get(env.BUS_CHANNEL.idFromName(here.db)))
          : null,
      ]);
    const before = await stored();
    const over = await send(
      op,
      path,
      bodyWith(doc, op.body, field.path, valueOfLength(doc, field, max + 1, ids), ids),
    );
    const overShown = `${op.method} ${path} ${name(field)}=${max + 1}: ${over.text.slice(0, 300)}`;
    expect([400, 413], overShown).toContain(over.status);
    expect(problemsAt(over.body?.error?.details, field), overShown).toBeDefined();
    expect(await stored(), `${overShown} stored something`).toEqual(before);
  });
});
