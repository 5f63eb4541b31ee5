// Shared by `npm start`, the end-to-end tests and the benchmarks: prepare a fresh clone,
// apply D1 migrations locally and run `wrangler dev`.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { vendorDocs } from "./vendor-docs.mjs";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");

/**
 * wrangler without its chatter: no metrics, no banner (whose update notice points past the pinned
 * 4.86.0, the last release for Node 20), and no fetch of the `Request.cf` placeholder from
 * workers.cloudflare.com, which fails offline with a stack trace and which the Worker never reads.
 */
const WRANGLER_ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

/** `.dev.vars` from the example when missing, vendored docs assets, and the UI bundle. */
export function prepareLocal() {
  const devVars = join(ROOT, ".dev.vars");
  if (!existsSync(devVars)) {
    copyFileSync(join(ROOT, ".dev.vars.example"), devVars);
    console.log("Created .dev.vars from .dev.vars.example");
  }
  vendorDocs();
  const build = spawnSync("npm", ["run", "--silent", "--if-present", "build:ui"], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (build.status !== 0) throw new Error("npm run build:ui failed");
}

/** A value of `.dev.vars` (dotenv lines, as wrangler reads them), or undefined. */
export function readDevVar(name) {
  const text = readFileSync(join(ROOT, ".dev.vars"), "utf8");
  for (const line of text.split(/\r?\n/)) {
    const match = line.match(/^\s*(?:export\s+)?([\w.-]+)\s*=\s*(.*)$/);
    if (match?.[1] === name) return match[2].trim().replace(/^(["'])(.*)\1$/, "$2");
  }
  return undefined;
}

/**
 * Applies every migration in migrations/ to the local D1 under `persistTo`, quietly: wrangler
 * prints its whole migration table once per file. Returns one line saying what was done; the
 * full output is shown only when it failed or said something this does not recognise.
 */
export function applyMigrations(persistTo) {
  const result = spawnSync(
    WRANGLER,
    ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      encoding: "utf8",
      env: { ...WRANGLER_ENV, CI: "1" },
    },
  );
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;
  if (result.status !== 0) {
    process.stderr.write(output || `${result.error}\n`);
    throw new Error("wrangler d1 migrations apply failed");
  }
  const applied = output.match(/About to apply (\d+) migration/);
  if (applied) return `Applied ${applied[1]} migrations to the local database`;
  if (output.includes("No migrations to apply")) return "Local database up to date";
  return output.trim();
}

/**
 * Starts `wrangler dev` in its own process group (so stopping it also stops workerd) and
 * resolves once /health answers. `config` picks another wrangler config (the bench peers);
 * `cron` exposes the scheduled handler for `fireCron`. Unless `quiet`, its output is passed on
 * line by line, the lines `show` refuses left out.
 */
export async function startWrangler({
  port,
  persistTo,
  vars = {},
  quiet = false,
  timeoutMs = 90_000,
  config,
  cron = false,
  show = () => true,
}) {
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persistTo];
  if (config) args.push("--config", config);
  if (cron) args.push("--test-scheduled");
  args.push("--show-interactive-dev-session=false", "--inspector-port", "0");
  for (const [key, value] of Object.entries(vars)) args.push("--var", `${key}:${value}`);
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: WRANGLER_ENV,
  });
  let output = "";
  for (const [stream, target] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ]) {
    stream.on("data", (d) => {
      output = (output + d).slice(-20_000);
    });
    if (!quiet) {
      createInterface({ input: stream }).on("line", (line) => {
        if (show(line)) target.write(`${line}\n`);
      });
    }
  }
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${output}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (Date.now() >= deadline) {
    stopProcessGroup(child);
    throw new Error(`wrangler dev did not answer /health in ${timeoutMs} ms:\n${output}`);
  }
  return {
    url,
    child,
    output: () => output,
    stop: () => stopProcessGroup(child),
  };
}

/** Signals the whole group: killing only the wrangler wrapper leaves workerd on the port. */
export function stopProcessGroup(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      return resolve();
    }
    setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // gone
      }
    }, 5_000).unref();
  });
}

/** The cron expression of wrangler.toml's trigger. */
export const CRON = "* * * * *";

/**
 * Runs the Worker's scheduled handler once, as the cron trigger would: `wrangler dev` does not
 * fire triggers itself, and its `/cdn-cgi/handler/scheduled` fails when the Worker has assets,
 * so this uses `--test-scheduled`'s `/__scheduled`. Resolves with the HTTP status.
 */
export async function fireCron(url) {
  const res = await fetch(`${url}/__scheduled?cron=${encodeURIComponent(CRON)}`);
  await res.arrayBuffer();
  return res.status;
}
