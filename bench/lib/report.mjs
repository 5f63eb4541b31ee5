// Figures: one printed line per (figure, peer) as `<name>: <value> <unit> (<peer>: <value>,
// ratio <x>)` where the ratio is ours ÷ peer, on medians over the runs.
import { round, summarize } from "./stats.mjs";

export class Report {
  figures = [];
  errors = [];
  notes = {};

  /** A fact beside the figures (e.g. failed polls that were repeated), kept in results.json. */
  note(key, value) {
    this.notes[key] = value;
    console.error(`note ${key}: ${JSON.stringify(value)}`);
  }

  /**
   * `ours` and each peer are arrays of per-run values. `target` is the goal, kept in
   * results.json beside the figure, e.g. { peer: "bare DO", ratio: ">= 0.9" }.
   */
  add({ name, unit, ours, peers, target, higherIsBetter = false }) {
    const figure = {
      name,
      unit,
      higher_is_better: higherIsBetter,
      ours: summarize(ours),
      peers: Object.fromEntries(Object.entries(peers).map(([peer, v]) => [peer, summarize(v)])),
      target,
    };
    this.figures.push(figure);
    for (const line of linesOf(figure)) console.error(line);
    return figure;
  }

  fail(scenario, err, context = {}) {
    this.errors.push({ scenario, error: String(err?.stack ?? err), ...context });
    console.error(`${scenario}: failed (${String(err?.message ?? err).split("\n")[0]})`);
  }

  /** Every figure line, then every failure, on stdout in one block at the end of the run. */
  print() {
    console.log("");
    for (const figure of this.figures) for (const line of linesOf(figure)) console.log(line);
    for (const { scenario, error } of this.errors) {
      console.log(`${scenario}: failed (${error.split("\n")[0]})`);
    }
  }
}

export function linesOf(figure) {
  const value = round(figure.ours.median);
  return Object.entries(figure.peers).map(([peer, s]) => {
    const ratio = round(figure.ours.median / s.median, 2);
    return `${figure.name}: ${value} ${figure.unit} (${peer}: ${round(s.median)}, ratio ${ratio})`;
  });
}
