/**
 * `@switchboard/client` as a user gets it: built, packed with `npm pack`, installed from the
 * tarball into an empty project (with `ws`), then used from a Node 20 script and from Chromium
 * against `wrangler dev`; the installed `.d.ts` are compiled by a consumer in strict Node ESM
 * mode with no zod, no Workers types and `skipLibCheck` off.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_ADMIN_TOKEN, type DevServer, startDevServer } from "./support/dev-server";

const run = promisify(execFile);
const REPO = join(import.meta.dirname, "../..");
const PACKAGE_DIR = join(REPO, "packages/client");
const TSC = join(REPO, "node_modules/typescript/bin/tsc");
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/**
 * The environment of `npm test` without npm's own per-run settings (workspace, prefix), which
 * would point the installs in the empty project back at this repository.
 */
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !/^npm_(package|lifecycle|config_(workspace|prefix|global|local_prefix))/i.test(k),
  ),
);

interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

let packed: Packed;
let project: string;
let installed: string;
let server: DevServer;
let browser: Browser;

beforeAll(async () => {
  await run("npm", ["run", "build"], { cwd: PACKAGE_DIR, env: cleanEnv });
  project = mkdtempSync(join(tmpdir(), "switchboard-sdk-"));
  // Packed after the build above, so the lifecycle script's output cannot mix with the JSON.
  const pack = await run(
    "npm",
    ["pack", "--json", "--ignore-scripts", "--pack-destination", project],
    { cwd: PACKAGE_DIR, env: cleanEnv },
  );
  packed = (JSON.parse(pack.stdout) as Packed[])[0]!;
  console.log(
    `npm pack: ${packed.filename} ${kB(packed.size)} packed, ${kB(packed.unpackedSize)} unpacked`,
  );
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "sdk-consumer", private: true, type: "module" }),
  );
  const tarball = join(project, packed.filename);
  // `@types/ws`: a TypeScript user on Node 20 has it, and the consumer below passes `ws` in.
  const install = ["install", "--no-audit", "--no-fund", tarball, "ws@8.23.0", "@types/ws@8.18.2"];
  try {
    await run("npm", [...install, "--offline"], { cwd: project, env: cleanEnv });
  } catch {
    // Not everything in the local npm cache: the registry is reachable here.
    await run("npm", [...install, "--prefer-offline"], { cwd: project, env: cleanEnv });
  }
  installed = join(project, "node_modules/@switchboard/client");
  server = await startDevServer();
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (project) rmSync(project, { recursive: true, force: true });
});

/** Decimal kilobytes, as `npm pack` prints them. */
function kB(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} kB`;
}

async function adminPost<T>(path: string, body: unknown, token = DEV_ADMIN_TOKEN): Promise<T> {
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** A moderator's client token, minted with the admin token as a backend would. */
async function moderatorToken(userId: string): Promise<string> {
  const { token } = await adminPost<{ token: string }>("/api/tokens", {
    user: { id: userId, name: userId },
    permissions: ["planning_poker.moderate", "planning_poker.vote"],
  });
  return token;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}

describe("@switchboard/client packed and installed", () => {
  it("holds the bundle, the declarations and the README, and nothing that needs zod or Workers", () => {
    const paths = packed.files.map((f) => f.path).sort();
    expect(paths).toContain("dist/index.js");
    expect(paths).toContain("dist/client/index.d.ts");
    expect(paths).toContain("README.md");
    expect(paths.filter((p) => !p.startsWith("dist/"))).toEqual(["README.md", "package.json"]);
    for (const file of listFiles(join(installed, "dist"))) {
      const text = readFileSync(file, "utf8");
      expect(text, relative(installed, file)).not.toMatch(/["']zod["'/]/);
      expect(text, relative(installed, file)).not.toMatch(/workers-types|["']cloudflare:/);
    }
    // The SDK has no runtime dependencies: nothing came with it but `ws` and its types.
    const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.peerDependencies).toBeUndefined();
    expect(existsSync(join(project, "node_modules/zod"))).toBe(false);
  });

  it("type-checks a consumer in strict Node ESM mode with typed events", async () => {
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: "es2022",
          module: "nodenext",
          moduleResolution: "nodenext",
          lib: ["es2022", "dom"],
          types: [],
          skipLibCheck: false,
          noEmit: true,
        },
        files: ["consumer.ts"],
      }),
    );
    writeFileSync(
      join(project, "consumer.ts"),
      `import WebSocket from "ws";
import {
  BusClient, CLOSE_CODES, type ClientEvents, type KindProtocol, PokerApi, PokerClient,
  RoomClient, type ServerEvents, StateClient,
} from "@switchboard/client";

// Node 20: the documented way to give the client a WebSocket.
const poker: PokerClient = new PokerClient("https://x", "s1", { token: () => "t", WebSocket });
poker.on("story_added", (d) => { const label: string = d.story_label; return label; });
poker.on("story_changed", (d) => { const revealed: boolean = d.revealed; return revealed; });
// @ts-expect-error story_changed data has \`votes\`, not \`vote\`
poker.on("story_changed", (d) => d.vote);
// @ts-expect-error vote_submitted needs \`choice\`
void poker.request("vote_submitted", { choise: "3" });
const ended: 4410 = CLOSE_CODES.roomEnded.code;
const vote: ClientEvents["poker"]["vote_submitted"] = { choice: "5" };
const ending: ServerEvents["poker"]["poker_session_ended"]["poker_session_end_redirect_url"] = "/";
const threads = new RoomClient<KindProtocol<"threads">>({ url: "wss://x/ws/threads/1", token: () => "t" });
threads.on("message_created_or_updated", (d) => d.user_thread.unread_count);
const state = new StateClient({ baseUrl: "https://x", personKey: "p", token: () => "t" });
state.subscribe("flow", (c) => c.previous_state);
new BusClient({ baseUrl: "https://x", db: "shop", token: () => "t" }).poll(["a"], (m) => {
  const id: string = m.message_id;
  console.log(id);
});
void new PokerApi("https://x").createSession("t", { name: "n" }).then((s) => s.choices.join());
export { ended, ending, vote };
`,
    );
    await expect(run("node", [TSC, "-p", project], { cwd: project })).resolves.toBeDefined();
  });

  it("runs in Node 20 with ws: a typed event over REST, then no reconnect after 4410", async () => {
    const token = await moderatorToken("node-sdk");
    writeFileSync(
      join(project, "node-client.mjs"),
      `import WebSocket from "ws";
import { CLOSE_CODES, PokerApi, PokerClient } from "@switchboard/client";

const [base, token] = process.argv.slice(2);
const api = new PokerApi(base);
const session = await api.createSession(token, { name: "From the package" });
const client = new PokerClient(base, session.id, { token: () => token, WebSocket });
await new Promise((resolve) => client.on("open", resolve));
const added = new Promise((resolve) => client.on("story_added", resolve));
await api.addStory(token, session.id, { story_label: "Checkout" });
const story = await added;
const closed = new Promise((resolve) => client.on("close", (d) => resolve(d.code)));
await api.endSession(token, session.id);
const code = await closed;
console.log(JSON.stringify({
  label: story.story_label,
  code,
  roomEnded: code === CLOSE_CODES.roomEnded.code,
  state: client.state,
}));
`,
    );
    const { stdout } = await run("node", ["node-client.mjs", server.url, token], {
      cwd: project,
      timeout: 30_000,
    });
    expect(JSON.parse(stdout)).toEqual({
      label: "Checkout",
      code: 4410,
      roomEnded: true,
      state: "closed",
    });
  });

  it("runs in Chromium: the installed bundle as an ES module receives story_changed", async () => {
    const token = await moderatorToken("browser-sdk");
    const session = await adminPost<{ id: string }>("/api/poker/sessions", { name: "Browser" });
    const story = await adminPost<{ id: string }>(`/api/poker/sessions/${session.id}/stories`, {
      story_label: "Search",
    });
    const bundle = readFileSync(join(installed, "dist/index.js"), "utf8");
    const page = await browser.newPage();
    page.on("pageerror", (err) => console.error("page error:", err));
    // A real page of the Worker's origin (Chromium refuses a loopback socket to a page that was
    // not itself served from there, and the Worker's CSP allows only same-origin scripts); the SDK
    // bundle is served beside it, as an app would serve it, and imported as an ES module.
    const loader = `import * as sdk from "./index.js"; window.sdk = sdk;`;
    await page.route(`${server.url}/sdk-test/*.js`, (route) =>
      route.fulfill({
        contentType: "text/javascript",
        body: route.request().url().endsWith("/loader.js") ? loader : bundle,
      }),
    );
    await page.goto(`${server.url}/health`);
    await page.addScriptTag({ url: "/sdk-test/loader.js", type: "module" });
    await page.waitForFunction(() => "sdk" in window);
    const seen = await page.evaluate(
      async ({ base, token, sessionId, storyId }) => {
        const sdk = (window as unknown as { sdk: typeof import("../../src/client/index") }).sdk;
        const client = new sdk.PokerClient(base, sessionId, { token: () => token });
        const changed = new Promise<{ id: string; story_label: string }>((resolve) =>
          client.on("story_changed", resolve),
        );
        const reply = await client.nextStory(storyId);
        const data = await changed;
        client.close();
        return { status: reply.status, id: data.id, label: data.story_label, state: client.state };
      },
      { base: server.url, token, sessionId: session.id, storyId: story.id },
    );
    expect(seen).toEqual({ status: 200, id: story.id, label: "Search", state: "closed" });
    await page.close();
  });
});
