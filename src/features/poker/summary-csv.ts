import type { PokerSummary } from "../../protocol/poker-rest";

const HEADER = ["story_label", "story_points", "votes", "mean", "median", "consensus"];

/**
 * The summary as CSV (RFC 4180: CRLF line ends, fields with a comma, quote or line break quoted,
 * quotes doubled). A cell a spreadsheet would read as a formula (starting with = + - @, or a tab
 * or carriage return that some strip first) gets a leading `'`, so opening the file runs nothing.
 */
export function summaryCsv(summary: PokerSummary): string {
  const rows = summary.stories.map((s) => [
    s.story_label,
    numberCell(s.story_points),
    String(s.stats.count),
    numberCell(s.stats.mean),
    numberCell(s.stats.median),
    String(s.stats.consensus),
  ]);
  return `${[HEADER, ...rows].map((row) => row.map(csvCell).join(",")).join("\r\n")}\r\n`;
}

function numberCell(n: number | null): string {
  return n === null ? "" : String(n);
}

export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
