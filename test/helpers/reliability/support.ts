import { createExecutionContext, env } from "cloudflare:test";
import { expect } from "vitest";
import { mintClientToken } from "../../../src/platform/auth/tokens";
import { BASE } from "../http";
import worker from "../worker";

/**
 * Calls the Worker's fetch handler directly. Thousands of requests go through here: `SELF.fetch`
 * gets slower with every call in a file (measured: ~6 ms per request at first, ~300 ms after
 * 600), calling the handler stays at ~3 ms. Same app, same bindings, same Durable Objects.
 */
export function fetchWorker(path: string, init: RequestInit = {}): Promise<Response> {
  return Promise.resolve(
    worker.fetch(new Request(`${BASE}${path}`, init), env, createExecutionContext()),
  );
}

/** `call` of test/helpers/http.ts, through `fetchWorker`. */
export async function api(
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetchWorker(path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body };
}

/** Every row of every application table in D1, one string per table (compared before/after). */
export async function snapshotD1(): Promise<Record<string, string>> {
  const { results } = await env.DB.prepare(
    // live_rooms is the rooms' report of their sockets, written by their alarms, not by requests.
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT IN ('d1_migrations', 'live_rooms') ORDER BY name",
  ).all<{ name: string }>();
  const names = results.map((r) => r.name);
  const dumps = await env.DB.batch(
    names.map((name) => env.DB.prepare(`SELECT * FROM "${name}" ORDER BY rowid`)),
  );
  return Object.fromEntries(names.map((name, i) => [name, JSON.stringify(dumps[i]?.results)]));
}

/** Text that looks like a leaked stack trace or source location. */
const STACK = [/\n\s+at\s/, /\bat\s+\S+\s+\(.*:\d+:\d+\)/, /\.(ts|js|mjs):\d+/, /node_modules/];

export function expectNoStack(text: string): void {
  for (const pattern of STACK) {
    if (pattern.test(text)) throw new Error(`looks like a stack trace: ${text.slice(0, 500)}`);
  }
}

/** The contract's HTTP error body: `{"error": {"code", "message", "details"?}}`. */
export function expectHttpError(status: number, text: string, what: string): void {
  expect(status, `${what}: status ${status} ${text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(status, `${what}: status ${status} ${text.slice(0, 300)}`).toBeLessThan(500);
  expectNoStack(text);
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${what}: error body is not JSON: ${text.slice(0, 300)}`);
  }
  const keys = Object.keys(body ?? {});
  if (
    keys.length !== 1 ||
    typeof body.error?.code !== "string" ||
    typeof body.error?.message !== "string"
  ) {
    throw new Error(`${what}: not the contract's error shape: ${text.slice(0, 300)}`);
  }
}

/**
 * A socket's answer to a refused frame: a reply `{request_id, status, errors}` or, without a
 * request id, `{"event": "error", "data": {status, errors}}`; always 4xx with string errors.
 */
export function expectFrameError(answer: any, what: string): { status: number; errors: string[] } {
  const shown = JSON.stringify(answer).slice(0, 400);
  const body = answer?.event === "error" ? answer.data : answer;
  expect(typeof body?.status, `${what}: ${shown}`).toBe("number");
  expect(body.status, `${what}: ${shown}`).toBeGreaterThanOrEqual(400);
  expect(body.status, `${what}: ${shown}`).toBeLessThan(500);
  expect(Array.isArray(body.errors) && body.errors.length > 0, `${what}: ${shown}`).toBe(true);
  for (const e of body.errors) expect(typeof e, `${what}: ${shown}`).toBe("string");
  expectNoStack(JSON.stringify(answer));
  return body;
}

/** A correctly signed client token that expired a minute ago. */
export async function expiredToken(id: string, permissions: string[] = []): Promise<string> {
  const { token } = await mintClientToken(env.TOKEN_SECRET, {
    user: { id, name: id },
    permissions,
    ttlSeconds: -60,
  });
  return token;
}

/** The token with its payload rewritten to claim admin-like permissions; the signature is kept. */
export function tamperedToken(token: string, permissions: string[]): string {
  const [header, payload, signature] = token.split(".");
  const claims = JSON.parse(atob(payload!.replace(/-/g, "+").replace(/_/g, "/")));
  const forged = btoa(JSON.stringify({ ...claims, perms: permissions }))
    .replace(/=+$/, "")
    .replace(/\+/g, "-")
    .replace(/\//g, "_");
  return `${header}.${forged}.${signature}`;
}
