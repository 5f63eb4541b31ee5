/**
 * A hook's success rate per hour as an SVG bar chart, drawn by hand: one bar per hour, green for
 * succeeded and red for failed attempts, each bar the hour's whole (100 %). SVG attributes and
 * the stylesheet's classes only, so nothing needs `style-src 'unsafe-inline'`.
 */
import type { HourBucket } from "./api";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 480;
const HEIGHT = 120;
const AXIS = 16;

function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

/** The figures the chart shows, in words, for its accessible name and for readers of the text. */
export function summarise(buckets: HourBucket[]): string {
  const attempts = buckets.reduce((n, b) => n + b.attempts, 0);
  if (attempts === 0) return `No finished attempts in the last ${buckets.length} hours.`;
  const succeeded = buckets.reduce((n, b) => n + b.succeeded, 0);
  const rate = Math.round((succeeded / attempts) * 1000) / 10;
  const p95 = Math.max(...buckets.map((b) => b.p95_ms ?? 0));
  const latest = [...buckets].reverse().find((b) => b.p50_ms !== null);
  const latency = latest
    ? `; latest hour with attempts: p50 ${latest.p50_ms} ms, p95 ${latest.p95_ms} ms`
    : "";
  return `${rate} % of ${attempts} ${attempts === 1 ? "attempt" : "attempts"} succeeded in the last ${buckets.length} hours; worst hourly p95 ${p95} ms${latency}.`;
}

export function successChart(buckets: HourBucket[]): SVGElement {
  const chart = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT + AXIS}`,
    role: "img",
    "aria-label": `Success rate per hour. ${summarise(buckets)}`,
    class: "chart",
  });
  const slot = WIDTH / Math.max(buckets.length, 1);
  chart.append(svg("line", { x1: 0, y1: HEIGHT, x2: WIDTH, y2: HEIGHT, class: "chart-axis" }));
  buckets.forEach((bucket, i) => {
    const x = i * slot + 1;
    const width = Math.max(slot - 2, 1);
    if (bucket.attempts > 0) {
      const okHeight = (bucket.succeeded / bucket.attempts) * HEIGHT;
      const bar = svg("g", { "data-hour": bucket.start });
      const title = svg("title", {});
      title.textContent = `${new Date(bucket.start).toLocaleTimeString()}: ${bucket.succeeded} of ${bucket.attempts} succeeded, p50 ${bucket.p50_ms ?? "—"} ms, p95 ${bucket.p95_ms ?? "—"} ms`;
      bar.append(
        title,
        svg("rect", { x, y: 0, width, height: HEIGHT - okHeight, class: "chart-failed" }),
        svg("rect", { x, y: HEIGHT - okHeight, width, height: okHeight, class: "chart-ok" }),
      );
      chart.append(bar);
    }
    // An hour label every six hours keeps the axis readable at 24 bars.
    if (i % 6 === 0) {
      const label = svg("text", { x, y: HEIGHT + AXIS - 3, class: "chart-label" });
      label.textContent = new Date(bucket.start).toLocaleTimeString([], {
        hour: "2-digit",
        minute: "2-digit",
      });
      chart.append(label);
    }
  });
  return chart;
}
