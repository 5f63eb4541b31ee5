import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain ESM script shared with `npm start`
import { ROOT, readDevVar } from "../../scripts/local.mjs";
import { freePort } from "./support/dev-server";

const LINK = /Run a planning poker session: (http:\/\/127\.0\.0\.1:\d+)\/poker\/#key=(sbk_\S+)/;
const START_TIMEOUT_MS = 90_000;

interface Started {
  url: string;
  key: string;
  /** Every line printed up to and including the link. */
  lines: string[];
  /** Resolves when a later line matches. */
  waitForLine(pattern: RegExp): Promise<string>;
}

let stateDir: string;
let port: number;
let running: ChildProcess | undefined;
let firstKey: string | undefined;

/** `npm start` as a newcomer runs it, on its own port and local state. */
function start(): Promise<Started> {
  const child = spawn(process.execPath, ["scripts/start.mjs"], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), SWITCHBOARD_STATE_DIR: stateDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running = child;
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.pattern.test(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    });
  }
  const waitForLine = (pattern: RegExp, timeoutMs = 10_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no line matching ${pattern} in:\n${lines.join("\n")}`)),
        timeoutMs,
      );
      waiters.push({
        pattern,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code) =>
      reject(new Error(`npm start exited with ${code}:\n${lines.join("\n")}`)),
    ),
  );
  return Promise.race([waitForLine(LINK, START_TIMEOUT_MS), exited]).then((line) => {
    const [, url, key] = line.match(LINK) ?? [];
    return { url: url!, key: key!, lines: [...lines], waitForLine };
  });
}

/** Ctrl-C: start.mjs stops wrangler dev and workerd with it. */
async function stop(): Promise<void> {
  const child = running;
  running = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGINT");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

async function mintToken(url: string, key: string): Promise<number> {
  const res = await fetch(`${url}/api/tokens`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ permissions: ["planning_poker.moderate"] }),
  });
  await res.arrayBuffer();
  return res.status;
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "switchboard-start-"));
  port = await freePort();
});

afterEach(stop);

afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describe("npm start", () => {
  it("prints a short report ending in an organiser link whose key works", async () => {
    const first = await start();
    expect(first.url).toBe(`http://127.0.0.1:${port}`);
    expect(first.lines.length, first.lines.join("\n")).toBeLessThan(25);
    const migrations = readdirSync(join(ROOT, "migrations")).filter((f) => f.endsWith(".sql"));
    expect(first.lines).toContain(`Applied ${migrations.length} migrations to the local database`);
    const report = first.lines.join("\n");
    // wrangler's migration tables, banner, update notice, bindings table, offline Request.cf trace
    expect(report).not.toMatch(/┌|⛅️|update available|following bindings|Request\.cf|ENOTFOUND/);
    expect(await mintToken(first.url, first.key)).toBe(201);
    firstKey = first.key;
    // What the user does afterwards shows, a failed request in particular.
    expect((await fetch(`${first.url}/no-such-page`)).status).toBe(404);
    await first.waitForLine(/GET \/no-such-page 404/);
  });

  it("reuses the organiser key on the next start, and replaces it once revoked", async () => {
    const second = await start();
    expect(second.lines).toContain("Local database up to date");
    expect(second.key).toBe(firstKey);
    const admin = { Authorization: `Bearer ${readDevVar("ADMIN_TOKEN")}` };
    const keys = await (await fetch(`${second.url}/api/keys?limit=200`, { headers: admin })).json();
    const organiser = keys.results.filter(
      (k: { user: { id: string } }) => k.user.id === "organiser",
    );
    expect(organiser).toHaveLength(1);
    const revoked = await fetch(`${second.url}/api/keys/${organiser[0].id}`, {
      method: "DELETE",
      headers: admin,
    });
    expect(revoked.status).toBe(204);
    await stop();

    const third = await start();
    expect(third.key).not.toBe(second.key);
    expect(await mintToken(third.url, third.key)).toBe(201);
  });
});
