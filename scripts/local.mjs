// Shared by `npm start`, the end-to-end tests and the benchmarks: prepare a fresh clone,
// apply D1 migrations locally and run `wrangler dev`.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { vendorDocs } from "./vendor-docs.mjs";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");

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

/** Applies every migration in migrations/ to the local D1 under `persistTo`. */
export function applyMigrations(persistTo) {
  const result = spawnSync(
    WRANGLER,
    ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo],
    { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, CI: "1" } },
  );
  if (result.status !== 0) throw new Error("wrangler d1 migrations apply failed");
}

/**
 * Starts `wrangler dev` in its own process group (so stopping it also stops workerd) and
 * resolves once /health answers. `config` picks another wrangler config (the bench peers);
 * `cron` exposes the scheduled handler for `fireCron`.
 */
export async function startWrangler({
  port,
  persistTo,
  vars = {},
  quiet = false,
  timeoutMs = 90_000,
  config,
  cron = false,
}) {
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persistTo];
  if (config) args.push("--config", config);
  if (cron) args.push("--test-scheduled");
  args.push("--show-interactive-dev-session=false", "--inspector-port", "0");
  for (const [key, value] of Object.entries(vars)) args.push("--var", `${key}:${value}`);
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    detached: true,
    stdio: quiet ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  let output = "";
  child.stdout?.on("data", (d) => {
    output = (output + d).slice(-20_000);
  });
  child.stderr?.on("data", (d) => {
    output = (output + d).slice(-20_000);
  });
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
