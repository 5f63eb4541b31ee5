// Renders bench/results.json as the Markdown table kept in bench/README.md:
//   node bench/table.mjs > /tmp/table.md
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../scripts/local.mjs";
import { round } from "./lib/stats.mjs";

const results = JSON.parse(readFileSync(join(ROOT, "bench", "results.json"), "utf8"));
const { machine, versions, load_average: load } = results;
const range = (s) => `${round(s.median)} (${round(s.min)}–${round(s.max)})`;

console.log(
  `Run ${results.date} in ${results.duration_s} s on ${machine.cpu}, ${machine.cores} cores, ${machine.memory_gib} GiB, ${machine.os}; Node ${versions.node}, wrangler ${versions.wrangler}, workerd ${versions.workerd}, partyserver ${versions.partyserver}, ws ${versions.ws}. Load average before ${load.before.join(" / ")}, after ${load.after.join(" / ")}.`,
);
console.log("");
console.log(
  "| figure | unit | ours, median (min–max) | peer | peer, median (min–max) | ratio | target |",
);
console.log("|---|---|---|---|---|---|---|");
for (const f of results.figures) {
  for (const [peer, s] of Object.entries(f.peers)) {
    const target = f.target?.[peer] ?? f.target?.absolute ?? "";
    const ratio = round(f.ours.median / s.median, 2);
    console.log(
      `| ${f.name} | ${f.unit} | ${range(f.ours)} | ${peer} | ${range(s)} | ${ratio} | ${target} |`,
    );
  }
}
for (const e of results.errors) console.log(`\nFailed: ${e.scenario}: ${e.error.split("\n")[0]}`);
if (Object.keys(results.notes ?? {}).length) {
  console.log(`\nNotes: \`${JSON.stringify(results.notes)}\``);
}
