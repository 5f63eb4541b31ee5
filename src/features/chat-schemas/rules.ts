// Adds .openapi() to zod's schemas (extendZodWithOpenApi) before this module runs.
import "@hono/zod-openapi";
import { z } from "zod";

/**
 * The variables pool's rule language: plain JSON, checked by zod, interpreted below. There is no
 * `eval` and no expression parser: a rule is data, and the interpreter only knows these forms.
 */

export type VarValue = number | string | boolean | null;
export type Variables = Record<string, VarValue>;

const VarName = z
  .string()
  .max(64)
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "a variable name: letters, digits, _ (max 64)");
const Scalar = z.union([z.number().finite(), z.string().max(1000), z.boolean(), z.null()]);

/** A change to the pool, applied when a question (or one of its answers) is answered. */
export const Modification = z.discriminatedUnion("op", [
  z.object({ var: VarName, op: z.literal("set"), value: Scalar }).strict(),
  z.object({ var: VarName, op: z.literal("add"), value: z.number().finite() }).strict(),
  z.object({ var: VarName, op: z.literal("subtract"), value: z.number().finite() }).strict(),
  /** Copies the answer's text (the chosen answer's own text, or the question's stored answer). */
  z.object({ var: VarName, op: z.literal("copy_answer") }).strict(),
]);
export type Modification = z.infer<typeof Modification>;

export type Condition =
  | { var: string; op: "eq" | "ne"; value: VarValue }
  | { var: string; op: "gt" | "gte" | "lt" | "lte"; value: number }
  | { var: string; op: "in"; value: (number | string)[] }
  | { var: string; op: "exists" }
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition };

export const MAX_CONDITION_DEPTH = 8;

/** Recursive; the named OpenAPI ref lets the document generator stop at the recursion. */
export const Condition: z.ZodType<Condition> = z
  .lazy(() =>
    z.union([
      z.object({ var: VarName, op: z.enum(["eq", "ne"]), value: Scalar }).strict(),
      z
        .object({
          var: VarName,
          op: z.enum(["gt", "gte", "lt", "lte"]),
          value: z.number().finite(),
        })
        .strict(),
      z
        .object({
          var: VarName,
          op: z.literal("in"),
          value: z.array(z.union([z.number().finite(), z.string().max(1000)])).max(100),
        })
        .strict(),
      z.object({ var: VarName, op: z.literal("exists") }).strict(),
      z.object({ all: z.array(Condition).max(50) }).strict(),
      z.object({ any: z.array(Condition).max(50) }).strict(),
      z.object({ not: Condition }).strict(),
    ]),
  )
  .openapi("Condition");

/** A `fork` question's rule: when `if` holds, the conversation goes on at `next_qid`. */
export const ForkRule = z.object({ if: Condition, next_qid: z.number().int().min(-1) }).strict();
export type ForkRule = z.infer<typeof ForkRule>;

export function conditionDepth(c: Condition): number {
  if ("all" in c) return 1 + Math.max(0, ...c.all.map(conditionDepth));
  if ("any" in c) return 1 + Math.max(0, ...c.any.map(conditionDepth));
  if ("not" in c) return 1 + conditionDepth(c.not);
  return 1;
}

/** Applies modifications in order to a copy of the pool. `answerText` feeds `copy_answer`. */
export function applyModifications(
  pool: Variables,
  mods: readonly Modification[],
  answerText: string,
): Variables {
  // A Map, then entries: `__proto__` is a valid variable name and must stay an ordinary key.
  const out = new Map(Object.entries(pool));
  for (const m of mods) {
    switch (m.op) {
      case "set":
        out.set(m.var, m.value);
        break;
      case "add":
      case "subtract": {
        const current = out.get(m.var) ?? 0;
        const base = typeof current === "number" ? current : Number(current);
        const start = Number.isFinite(base) ? base : 0;
        out.set(m.var, m.op === "add" ? start + m.value : start - m.value);
        break;
      }
      case "copy_answer":
        out.set(m.var, answerText);
        break;
    }
  }
  return Object.fromEntries(out);
}

function lookup(pool: Variables, name: string): VarValue | undefined {
  return Object.hasOwn(pool, name) ? pool[name] : undefined;
}

/** Evaluates a condition; a missing variable compares as absent (every comparison is false). */
export function holds(c: Condition, pool: Variables): boolean {
  if ("all" in c) return c.all.every((x) => holds(x, pool));
  if ("any" in c) return c.any.some((x) => holds(x, pool));
  if ("not" in c) return !holds(c.not, pool);
  const value = lookup(pool, c.var);
  switch (c.op) {
    case "exists":
      return value !== undefined;
    case "eq":
      return value !== undefined && value === c.value;
    case "ne":
      return value === undefined || value !== c.value;
    case "in":
      return value !== undefined && value !== null && c.value.some((v) => v === value);
    default: {
      if (value === undefined || value === null || typeof value === "boolean") return false;
      const n = typeof value === "number" ? value : Number(value);
      if (!Number.isFinite(n) || (typeof value === "string" && value.trim() === "")) return false;
      if (c.op === "gt") return n > c.value;
      if (c.op === "gte") return n >= c.value;
      if (c.op === "lt") return n < c.value;
      return n <= c.value;
    }
  }
}

/** The first rule that holds picks the next qid; when none does the conversation ends (-1). */
export function forkTarget(rules: readonly ForkRule[], pool: Variables): number {
  for (const rule of rules) if (holds(rule.if, pool)) return rule.next_qid;
  return -1;
}
