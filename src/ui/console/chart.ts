/**
 * A hook's hours as SVG bar charts, drawn by hand: the success rate (green succeeded over red
 * failed, each bar the hour's whole) and the latency (p95 bar with the p50 bar inside). SVG
 * attributes and the stylesheet's classes only, so nothing needs `style-src 'unsafe-inline'`.
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

function frame(label: string, buckets: HourBucket[]): { chart: SVGElement; slot: number } {
  const chart = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT + AXIS}`,
    role: "img",
    "aria-label": label,
    class: "chart",
  });
  const slot = WIDTH / Math.max(buckets.length, 1);
  chart.append(svg("line", { x1: 0, y1: HEIGHT, x2: WIDTH, y2: HEIGHT, class: "chart-axis" }));
  buckets.forEach((bucket, i) => {
    // An hour label every six hours keeps the axis readable at 24 bars.
    if (i % 6 !== 0) return;
    const text = svg("text", { x: i * slot + 1, y: HEIGHT + AXIS - 3, class: "chart-label" });
    text.textContent = new Date(bucket.start).toLocaleTimeString([], {
      hour: "2-digit",
      minute: "2-digit",
    });
    chart.append(text);
  });
  return { chart, slot };
}

function hourBar(bucket: HourBucket, title: string, ...rects: SVGElement[]): SVGElement {
  const bar = svg("g", { "data-hour": bucket.start });
  const tip = svg("title", {});
  tip.textContent = `${new Date(bucket.start).toLocaleTimeString()}: ${title}`;
  bar.append(tip, ...rects);
  return bar;
}

export function successChart(buckets: HourBucket[]): SVGElement {
  const { chart, slot } = frame(`Success rate per hour. ${summarise(buckets)}`, buckets);
  buckets.forEach((bucket, i) => {
    if (bucket.attempts === 0) return;
    const x = i * slot + 1;
    const width = Math.max(slot - 2, 1);
    const ok = (bucket.succeeded / bucket.attempts) * HEIGHT;
    chart.append(
      hourBar(
        bucket,
        `${bucket.succeeded} of ${bucket.attempts} succeeded`,
        svg("rect", { x, y: 0, width, height: HEIGHT - ok, class: "chart-failed" }),
        svg("rect", { x, y: HEIGHT - ok, width, height: ok, class: "chart-ok" }),
      ),
    );
  });
  return chart;
}

export function latencyChart(buckets: HourBucket[]): SVGElement {
  const top = Math.max(1, ...buckets.map((b) => b.p95_ms ?? 0));
  const { chart, slot } = frame(
    `Delivery latency per hour, p95 and p50; the highest p95 is ${top} ms.`,
    buckets,
  );
  const scale = (ms: number) => (ms / top) * HEIGHT;
  buckets.forEach((bucket, i) => {
    if (bucket.p95_ms === null || bucket.p50_ms === null) return;
    const x = i * slot + 1;
    const width = Math.max(slot - 2, 1);
    const p95 = scale(bucket.p95_ms);
    const p50 = scale(bucket.p50_ms);
    chart.append(
      hourBar(
        bucket,
        `p50 ${bucket.p50_ms} ms, p95 ${bucket.p95_ms} ms`,
        svg("rect", { x, y: HEIGHT - p95, width, height: p95, class: "chart-p95" }),
        svg("rect", { x, y: HEIGHT - p50, width, height: p50, class: "chart-p50" }),
      ),
    );
  });
  const max = svg("text", { x: WIDTH - 2, y: 10, class: "chart-label chart-max" });
  max.textContent = `${top} ms`;
  chart.append(max);
  return chart;
}
