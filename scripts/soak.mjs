// `npm run soak`: the reliability suites with their long variants and the load scenarios (not
// part of `npm test`). Collects the `[soak] <name>: <value> <unit>` lines the tests and scenario
// scripts print, prints a summary and writes docs/soak-results.json (the figures
// docs/RELIABILITY.md quotes).
//
// Options:
//   --scenarios=reliability,rooms,poker-1000,bus-2500   what runs (default: reliability,rooms)
//     reliability  test/reliability in the Workers runtime (faults first, then the REST fuzzer,
//                  then the other bad-input, access and data-path suites)
//     rooms        10 poker rooms × 101 sockets under `wrangler dev` (test/e2e/load.e2e.test.ts)
//     poker-1000   one poker room of 1,000 voters and a moderator (scripts/soak-poker.mjs)
//     bus-2500     one bus channel with 2,500 listeners (scripts/soak-bus.mjs)
//   --seconds=N    how long poker-1000 and bus-2500 hold their load (default 60); below 60 the
//                  rooms scenario runs its CI size (10 s). A shortened run is a smoke test: its
//                  figures are printed, docs/soak-results.json is left as it is.
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./local.mjs";

const RELIABILITY = ["vitest", "run", "--config", "vitest.soak.config.ts"];
const FAULTS = ["faults-", "retention"].map((f) => `test/reliability/${f}`);
// At least 10,000 requests, each checked against a dump of every D1 table: a phase of its own.
const REST_FUZZ = "test/reliability/fuzz-rest";
const NPX = "npx";
const NODE = process.execPath;

/** Every scenario's phases; a phase over its budget is stopped and reported as failed. */
function scenarios(seconds) {
  const short = seconds < 60;
  const held = `--seconds=${seconds}`;
  return {
    // The reliability phases take about 8 minutes on the 2-core machines.
    reliability: [
      {
        name: "faults and retention (Workers runtime)",
        command: NPX,
        args: [...RELIABILITY, ...FAULTS],
        budgetMs: 2 * 60_000,
      },
      {
        name: "random REST input, 10,000 requests (Workers runtime)",
        command: NPX,
        args: [...RELIABILITY, REST_FUZZ],
        budgetMs: 3 * 60_000,
      },
      {
        name: "bad frames, bounds, access, data paths, security (Workers runtime)",
        command: NPX,
        args: [
          ...RELIABILITY,
          "test/reliability",
          ...[...FAULTS, REST_FUZZ].flatMap((f) => ["--exclude", `${f}*`]),
        ],
        budgetMs: 4 * 60_000,
      },
    ],
    rooms: [
      {
        name: `load held (wrangler dev, 10 rooms × 101 sockets, ${short ? 10 : 60} s)`,
        command: NPX,
        args: [
          "vitest",
          "run",
          "--config",
          short ? "vitest.e2e.config.ts" : "vitest.soak.e2e.config.ts",
          "test/e2e/load.e2e.test.ts",
        ],
        budgetMs: 4 * 60_000,
      },
    ],
    // Setup alone (1,000 tokens, 1,001 sockets joining one room) takes about a minute here.
    "poker-1000": [
      {
        name: `one poker room of 1,000 voters (wrangler dev, ${seconds} s)`,
        command: NODE,
        args: ["scripts/soak-poker.mjs", held],
        budgetMs: 4 * 60_000 + seconds * 1000,
      },
    ],
    "bus-2500": [
      {
        name: `one bus channel, 2,500 listeners (wrangler dev, ${seconds} s)`,
        command: NODE,
        args: ["scripts/soak-bus.mjs", held],
        budgetMs: 3 * 60_000 + seconds * 1000,
      },
    ],
  };
}

function option(name) {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
}

const seconds = Number(option("seconds") ?? 60);
const chosen = (option("scenarios") ?? "reliability,rooms").split(",");
const known = scenarios(seconds);
const unknown = chosen.filter((name) => !(name in known));
if (!Number.isFinite(seconds) || seconds <= 0 || unknown.length) {
  console.error(
    `usage: npm run soak -- [--scenarios=${Object.keys(known).join(",")}] [--seconds=N]` +
      (unknown.length ? `\nunknown scenario: ${unknown.join(", ")}` : ""),
  );
  process.exit(2);
}
const PHASES = chosen.flatMap((name) => known[name]);

const FIGURE = /\[soak\] (.+?): (\S+)(?: (\S+))?\s*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: strips the terminal colours of vitest
const ANSI = /\x1b\[[0-9;]*m/g;

function run(phase, figures) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(phase.command, phase.args, { cwd: ROOT, detached: true, env: process.env });
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

console.log("\nSoak summary");
for (const p of phases) console.log(`  ${p.ok ? "passed" : "FAILED"}  ${p.name} (${p.seconds} s)`);
for (const [name, { value, unit }] of Object.entries(figures)) {
  console.log(`  ${name}: ${value}${unit ? ` ${unit}` : ""}`);
}
if (option("seconds") === undefined) {
  const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  const results = {
    date: new Date().toISOString(),
    commit: commit.stdout.trim(),
    scenarios: chosen,
    phases,
    figures,
  };
  writeFileSync(join(ROOT, "docs", "soak-results.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log("Written to docs/soak-results.json");
} else {
  console.log("A shortened run (--seconds): docs/soak-results.json left as it was");
}
process.exit(phases.every((p) => p.ok) ? 0 : 1);
