// Shared by the load scenarios of `npm run soak` that run as plain Node scripts
// (scripts/soak-poker.mjs, scripts/soak-bus.mjs): a fresh `wrangler dev`, bounded waits, and the
// `[soak] <name>: <value> <unit>` lines that scripts/soak.mjs collects.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../bench/lib/servers.mjs";
import { applyMigrations, prepareLocal, startWrangler } from "./local.mjs";

export const ADMIN_TOKEN = "dev-admin-token";

/** `--seconds=N` (how long the load is held; 60 by default, as the rooms scenario holds it). */
export function heldSeconds(argv = process.argv.slice(2)) {
  const arg = argv.find((a) => a.startsWith("--seconds="));
  const seconds = arg ? Number(arg.split("=")[1]) : 60;
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`bad ${arg}`);
  return seconds;
}

/** `wrangler dev` on a fresh local D1, as `npm start` runs it; `vars` are added to its own. */
export async function startServer(vars = {}) {
  prepareLocal();
  const persistTo = mkdtempSync(join(tmpdir(), "switchboard-soak-"));
  applyMigrations(persistTo);
  const server = await startWrangler({
    port: await freePort(),
    persistTo,
    quiet: true,
    vars: { ADMIN_TOKEN, ...vars },
  });
  return {
    url: server.url,
    ws: server.url.replace(/^http/, "ws"),
    output: server.output,
    stop: async () => {
      await server.stop();
      rmSync(persistTo, { recursive: true, force: true });
    },
  };
}

/**
 * `wrangler dev` answers 503 "Your worker restarted mid-request" when its proxy loses the
 * connection to the worker, which still runs (bench/README.md). A client repeats such a call;
 * calls that can repeat carry an Idempotency-Key, so a repeat is never stored twice. Counted.
 */
export const devProxyRetries = { count: 0 };

/** A JSON call with the admin token (or `token`); throws unless the status is `expect`. */
export async function api(
  server,
  method,
  path,
  body,
  { token = ADMIN_TOKEN, expect = 201, idempotencyKey } = {},
) {
  const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    const proxyLost = res.status === 503 && text.includes("restarted mid-request");
    if (proxyLost && (method === "GET" || idempotencyKey) && attempt < 3) {
      devProxyRetries.count++;
      continue;
    }
    if (res.status !== expect) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
}

/** Runs `fn` over `items` with at most `size` calls at once, keeping the order. */
export async function inBatches(items, size, fn) {
  const out = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  }
  return out;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `done()` every 100 ms until it holds or `ms` passed; says whether it held. */
export async function waitUntil(done, ms) {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (done()) return true;
    await sleep(100);
  }
  return done();
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** One figure for scripts/soak.mjs (and the reader). */
export function figure(name, value, unit = "") {
  console.log(`[soak] ${name}: ${value}${unit ? ` ${unit}` : ""}`);
}

/**
 * Runs a scenario against its own server and always stops the server; exits 1 when the
 * scenario threw or found problems, printing up to ten of them.
 */
export async function runScenario(name, vars, scenario) {
  const server = await startServer(vars);
  let problems;
  try {
    problems = await scenario(server);
  } catch (err) {
    problems = [err instanceof Error ? err.stack : String(err)];
  } finally {
    await server.stop();
  }
  if (problems.length) {
    console.error(`${name}: ${problems.length} problems, first ones:`);
    for (const p of problems.slice(0, 10)) console.error(`  ${p}`);
    process.exit(1);
  }
  console.log(`${name}: passed`);
}
