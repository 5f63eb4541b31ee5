// `npm run soak`: the reliability suites with their long variants (not part of `npm test`).
// Runs test/reliability in the Workers runtime (faults first, then the REST fuzzer, then the
// other bad-input, access and data-path suites), then the load test against `wrangler dev`;
// collects the `[soak] <name>: <value> <unit>` lines the tests print, prints a summary and
// writes docs/soak-results.json (the figures docs/RELIABILITY.md quotes).
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./local.mjs";

const RELIABILITY = ["vitest", "run", "--config", "vitest.soak.config.ts"];
const FAULTS = ["faults-", "retention"].map((f) => `test/reliability/${f}`);
// At least 10,000 requests, each checked against a dump of every D1 table: a phase of its own.
const REST_FUZZ = "test/reliability/fuzz-rest";

// The whole soak takes about 8 minutes on the 2-core machines; a phase over its budget is
// stopped and reported as failed with the figures it printed so far.
const PHASES = [
  {
    name: "faults and retention (Workers runtime)",
    args: [...RELIABILITY, ...FAULTS],
    budgetMs: 2 * 60_000,
  },
  {
    name: "random REST input, 10,000 requests (Workers runtime)",
    args: [...RELIABILITY, REST_FUZZ],
    budgetMs: 3 * 60_000,
  },
  {
    name: "bad frames, bounds, access, data paths, security (Workers runtime)",
    args: [
      ...RELIABILITY,
      "test/reliability",
      ...[...FAULTS, REST_FUZZ].flatMap((f) => ["--exclude", `${f}*`]),
    ],
    budgetMs: 4 * 60_000,
  },
  {
    name: "load held (wrangler dev, 1,000 sockets)",
    args: ["vitest", "run", "--config", "vitest.soak.e2e.config.ts", "test/e2e/load.e2e.test.ts"],
    budgetMs: 4 * 60_000,
  },
];

const FIGURE = /\[soak\] (.+?): (\S+)(?: (\S+))?\s*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: strips the terminal colours of vitest
const ANSI = /\x1b\[[0-9;]*m/g;

function run(phase, figures) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn("npx", phase.args, { cwd: ROOT, detached: true, env: process.env });
    const timer = setTimeout(() => {
      console.error(`\n${phase.name}: over its ${phase.budgetMs / 60_000} min budget, stopping`);
      process.kill(-child.pid, "SIGTERM");
    }, phase.budgetMs);
    let rest = "";
    const collect = (chunk, out) => {
      out.write(chunk);
      const lines = (rest + chunk.toString()).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        const match = FIGURE.exec(line.replace(ANSI, ""));
        if (match) figures[match[1]] = { value: match[2], unit: match[3] ?? "" };
      }
    };
    child.stdout.on("data", (c) => collect(c, process.stdout));
    child.stderr.on("data", (c) => collect(c, process.stderr));
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({
        name: phase.name,
        ok: code === 0,
        seconds: Math.round((Date.now() - started) / 1000),
      });
    });
  });
}

const figures = {};
const phases = [];
for (const phase of PHASES) phases.push(await run(phase, figures));

const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" });
const results = {
  date: new Date().toISOString(),
  commit: commit.stdout.trim(),
  phases,
  figures,
};
writeFileSync(join(ROOT, "docs", "soak-results.json"), `${JSON.stringify(results, null, 2)}\n`);

console.log("\nSoak summary");
for (const p of phases) console.log(`  ${p.ok ? "passed" : "FAILED"}  ${p.name} (${p.seconds} s)`);
for (const [name, { value, unit }] of Object.entries(figures)) {
  console.log(`  ${name}: ${value}${unit ? ` ${unit}` : ""}`);
}
console.log("Written to docs/soak-results.json");
process.exit(phases.every((p) => p.ok) ? 0 : 1);
