// `npm run bench`: starts Switchboard and its peers locally, runs every scenario with warm-up and
// several runs, prints one line per figure and peer, and writes bench/results.json.
// Options: --only=fanout,idle,poker,bus,webhooks   --quick (short runs, for checking the harness)
//          --runs=N (measured runs per figure, 3 by default)
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { ROOT } from "../scripts/local.mjs";
import { retries } from "./lib/net.mjs";
import { loadAverage, machine } from "./lib/proc.mjs";
import { Report } from "./lib/report.mjs";
import { startServers } from "./lib/servers.mjs";
import { SCENARIOS } from "./scenarios/index.mjs";

/** The whole run must end well inside the 10 minutes. */
const BUDGET_MS = 9 * 60 * 1000;

if (!process.env.BENCH_CHILD) {
  // 5,000 idle sockets need more descriptors than the default; children (wrangler, workerd, the
  // Node peer) inherit the raised limit.
  const script = `ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; export BENCH_NOFILE="$(ulimit -n)"; exec "$0" "$@"`;
  const child = spawn("bash", ["-c", script, process.execPath, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, BENCH_CHILD: "1" },
  });
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  await main();
}

async function main() {
  // wrangler's per-request log lines cost its Node process CPU on the same two cores; keep
  // warnings and errors only (set WRANGLER_LOG=info to see every request).
  process.env.WRANGLER_LOG ??= "warn";
  const args = process.argv.slice(2);
  const quick = args.includes("--quick");
  const only = args
    .find((a) => a.startsWith("--only="))
    ?.slice("--only=".length)
    .split(",");
  const runs = Number(args.find((a) => a.startsWith("--runs="))?.slice("--runs=".length) ?? 3);
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs needs a whole number >= 1");
  const started = performance.now();
  const log = (line) =>
    console.error(`[bench ${((performance.now() - started) / 1000).toFixed(0)}s] ${line}`);
  const loadBefore = loadAverage();
  log(`load average ${loadBefore.join(" ")}; starting servers`);

  const report = new Report();
  const servers = await startServers();
  let stopping = null;
  const stop = () => {
    stopping ??= servers.stop();
    return stopping;
  };
  /** Writes results.json and prints every figure: at the end, or when the budget runs out. */
  const finish = async (code) => {
    await stop();
    const results = {
      date: new Date().toISOString(),
      machine: machine(),
      load_average: { before: loadBefore, after: loadAverage() },
      versions: versions(),
      quick,
      duration_s: Math.round((performance.now() - started) / 1000),
      figures: report.figures,
      notes: { ...report.notes, calls_repeated_after_dev_proxy_503: retries.count },
      errors: report.errors,
    };
    writeFileSync(join(ROOT, "bench", "results.json"), `${JSON.stringify(results, null, 2)}\n`);
    report.print();
    log(`wrote bench/results.json in ${results.duration_s} s`);
    process.exit(code ?? (report.errors.length ? 1 : 0));
  };
  const watchdog = setTimeout(() => {
    report.fail(
      "budget",
      new Error(`over the ${BUDGET_MS / 60_000} min budget; later scenarios skipped`),
    );
    finish(2);
  }, BUDGET_MS);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, async () => {
      await stop();
      process.exit(130);
    });
  }

  log(`servers up in ${Math.round(performance.now() - started)} ms`);
  for (const scenario of SCENARIOS) {
    if (only && !only.includes(scenario.id)) continue;
    log(`${scenario.id}: ${scenario.title}`);
    try {
      await scenario.run({ servers, report, quick, runs, log });
    } catch (err) {
      report.fail(scenario.id, err, { ours_output_tail: servers.ours.output().slice(-4000) });
    }
  }
  clearTimeout(watchdog);
  await finish();
}

function versions() {
  const pkg = (name) => {
    try {
      return JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8"))
        .version;
    } catch {
      return null;
    }
  };
  return {
    node: process.version,
    wrangler: pkg("wrangler"),
    workerd: pkg("workerd"),
    partyserver: pkg("partyserver"),
    ws: pkg("ws"),
  };
}
