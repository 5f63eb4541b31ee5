import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN } from "../helpers/http";
import { expectHttpError } from "../helpers/reliability/support";
import { user } from "../helpers/reliability/world";
import worker from "../helpers/worker";
import { tryConnect } from "../helpers/ws";

/**
 * The HTTP rate limit (wrangler.toml `[[ratelimits]]`, src/platform/auth/rate-limit.ts): 600 calls per
 * 10 s window per user of a client token, 100 per address (`CF-Connecting-IP`) for anonymous
 * calls, none for the admin token. Over it: 429 `rate_limited` with `Retry-After`; the next window accepts again.
 */

const WINDOW_MS = 10_000;
const CLIENT_LIMIT = 600;
const ANONYMOUS_LIMIT = 100;

interface Answer {
  status: number;
  text: string;
  retryAfter: string | null;
}

/**
 * One call to the Worker's own fetch handler with the test bindings (the real limiters). Bursts
 * go this way because `SELF.fetch` slows down call by call over hundreds of calls.
 */
async function get(path: string, options: { token?: string; ip?: string } = {}): Promise<Answer> {
  const headers = new Headers();
  if (options.token) headers.set("Authorization", `Bearer ${options.token}`);
  if (options.ip) headers.set("CF-Connecting-IP", options.ip);
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://switchboard.test${path}`, { headers }),
    env,
    ctx,
  );
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  return { status: res.status, text, retryAfter: res.headers.get("Retry-After") };
}

async function burst(count: number, send: () => Promise<Answer>): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < count; i++) answers.push(await send());
  return answers;
}

function statuses(answers: Answer[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of answers) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits for a fresh window when the current one is too far gone to hold a whole burst. */
const freshWindow = () => {
  const into = Date.now() % WINDOW_MS;
  return into > 6_000 ? sleep(WINDOW_MS - into + 50) : Promise.resolve();
};
const nextWindow = () => sleep(WINDOW_MS - (Date.now() % WINDOW_MS) + 50);

// A test may wait for a fresh window and then for the next one.
describe("the HTTP rate limit", { timeout: 3 * WINDOW_MS }, () => {
  it("limits a client token per user with 429 and Retry-After, then recovers", async () => {
    const busy = await user("busy");
    const calm = await user("calm");
    await freshWindow();
    const answers = await burst(CLIENT_LIMIT + 40, () => get("/health", { token: busy.token }));
    expect(statuses(answers)).toEqual({ 200: CLIENT_LIMIT, 429: 40 });
    const limited = answers.at(-1)!;
    expectHttpError(limited.status, limited.text, "over the limit");
    expect(JSON.parse(limited.text).error.code).toBe("rate_limited");
    expect(limited.retryAfter).toBe("10");

    // Another user and the admin token go on; the limited user's socket upgrade is refused too.
    expect((await get("/health", { token: calm.token })).status).toBe(200);
    expect((await get("/health", { token: ADMIN })).status).toBe(200);
    const refused = await tryConnect(`/ws/test/${crypto.randomUUID()}`, busy.token);
    expect((refused as Response).status).toBe(429);

    await nextWindow();
    expect((await get("/health", { token: busy.token })).status).toBe(200);
  });

  it("limits anonymous calls per address, bad tokens included, and recovers", async () => {
    const address = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
    await freshWindow();
    const answers = await burst(ANONYMOUS_LIMIT + 10, () => get("/health", { ip: address }));
    expect(statuses(answers)).toEqual({ 200: ANONYMOUS_LIMIT, 429: 10 });
    // A wrong token counts as anonymous: guessing tokens is limited like any anonymous call.
    expect((await get("/health", { ip: address, token: "not-a-token" })).status).toBe(429);
    expect((await get("/health", { ip: "203.0.113.7" })).status).toBe(200);
    // Without an address the call came from inside (the edge always sets one): not counted.
    expect((await get("/health")).status).toBe(200);

    await nextWindow();
    expect((await get("/health", { ip: address })).status).toBe(200);
    expect((await get("/health", { ip: address, token: "not-a-token" })).status).toBe(401);
  });
});
