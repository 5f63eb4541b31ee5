// A room evicted by `abortAllDurableObjects()` may still log the abort from a pending promise.
// vitest-pool-workers 0.15 forwards that log with cross-object I/O that never completes once the
// room's input gate is broken, and the whole run stalls with no test named (fixed upstream in
// 0.18.6, which needs Node 22). Those logs say nothing a test needs, so they are dropped here.
const ABORTED = "abortAllDurableObjects()";

function mentionsAbort(value: unknown): boolean {
  if (value instanceof Error) return value.message.includes(ABORTED);
  return typeof value === "string" && value.includes(ABORTED);
}

// Setup files run once per test file in one isolate: wrap the console only the first time.
const WRAPPED = Symbol.for("switchboard.quietAbortedRooms");
const marked = globalThis as { [WRAPPED]?: true };
if (!marked[WRAPPED]) {
  marked[WRAPPED] = true;
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    const write = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      if (!args.some(mentionsAbort)) write(...args);
    };
  }
}
