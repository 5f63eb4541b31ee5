/**
 * Webhook endpoints: each hook's success rate over 24 h (a chart), its failing deliveries with
 * the last response and a Redeliver button, a Recover button that re-sends every failed delivery
 * of the hook since a chosen moment, and the failures gathered as "recent errors".
 */
import { ApiError } from "../../client/api-error";
import { type Attempt, explain, type Hook, type HourBucket, type Page, request } from "./api";
import { latencyChart, successChart, summarise } from "./chart";
import { byId, el, plural, when } from "./dom";

export interface HookView {
  hook: Hook;
  buckets: HourBucket[];
  /** The latest attempt of each event whose latest attempt failed (or waits for a retry). */
  failing: Attempt[];
}

const FAILED = new Set(["failed", "retrying"]);

export async function loadHook(secret: string, hook: Hook): Promise<HookView> {
  const id = encodeURIComponent(hook.id);
  const [stats, log] = await Promise.all([
    request<{ buckets: HourBucket[] }>(secret, "GET", `/api/webhooks/${id}/stats?hours=24`),
    request<Page<Attempt>>(secret, "GET", `/api/webhooks/${id}/deliveries?limit=100`),
  ]);
  const latest = new Map<string, Attempt>();
  // The log is newest first: the first attempt seen of an event is its latest.
  for (const attempt of log.results) {
    if (!latest.has(attempt.event_uuid)) latest.set(attempt.event_uuid, attempt);
  }
  const failing = [...latest.values()].filter((a) => FAILED.has(a.status));
  return { hook, buckets: stats.buckets, failing };
}

function lastResponse(a: Attempt): string {
  const status = a.response_status === null ? "no response" : `HTTP ${a.response_status}`;
  const parts = [status];
  // The consumer's error repeats the status for a plain HTTP failure; say it once.
  if (a.error && a.error !== status) parts.push(a.error);
  if (a.duration_ms !== null) parts.push(`${a.duration_ms} ms`);
  return parts.join(" · ");
}

function redeliverButton(secret: string, hook: Hook, a: Attempt, done: () => void) {
  const button = el("button", { type: "button" }, `Redeliver ${a.event_uuid.slice(0, 8)}`);
  // Outside the refreshed lists, so the answer outlives the next refresh.
  const result = byId("action-status");
  button.addEventListener("click", async () => {
    button.disabled = true;
    const path = `/api/webhooks/${encodeURIComponent(hook.id)}/deliveries/${encodeURIComponent(a.event_uuid)}/redeliver`;
    try {
      await request(secret, "POST", path);
      result.textContent = "Queued: a new attempt will appear in the log.";
      done();
    } catch (err) {
      result.textContent =
        err instanceof ApiError && err.status === 404
          ? "Only the admin token or the hook's owner may redeliver (console.read only reads)."
          : err instanceof ApiError && err.status === 409
            ? `Not queued: ${err.message}`
            : explain(err);
      button.disabled = false;
    }
  });
  return el("div", { class: "actions" }, button);
}

/** The windows offered to Recover; the server takes at most 7 days. */
const RECOVER_WINDOWS: [hours: number, label: string][] = [
  [1, "the last hour"],
  [24, "the last 24 hours"],
  [72, "the last 3 days"],
];
/** Each hook's chosen window, kept across the 5 s refreshes that rebuild the panel. */
const chosenHours = new Map<string, number>();

function recoverControl(secret: string, hook: Hook, done: () => void) {
  const selectId = `recover-since-${hook.id}`;
  const select = el("select", { id: selectId });
  for (const [hours, label] of RECOVER_WINDOWS) {
    const option = el("option", { value: String(hours) }, label);
    option.selected = hours === (chosenHours.get(hook.id) ?? 24);
    select.append(option);
  }
  select.addEventListener("change", () => chosenHours.set(hook.id, Number(select.value)));
  const button = el("button", { type: "button", class: "recover" }, "Recover failed since…");
  const result = byId("action-status");
  button.addEventListener("click", async () => {
    button.disabled = true;
    const since = new Date(Date.now() - Number(select.value) * 3_600_000).toISOString();
    try {
      const { count } = await request<{ count: number }>(
        secret,
        "POST",
        `/api/webhooks/${encodeURIComponent(hook.id)}/recover`,
        { since },
      );
      const deliveries = count === 1 ? "delivery" : "deliveries";
      result.textContent = `Recovered ${count} failed ${deliveries} of ${hook.target_url}: new attempts will appear in the log.`;
      done();
    } catch (err) {
      result.textContent =
        err instanceof ApiError && err.status === 404
          ? "Only the admin token or the hook's owner may recover (console.read only reads)."
          : err instanceof ApiError && err.status === 409
            ? `Not recovered: ${err.message}`
            : explain(err);
    }
    button.disabled = false;
  });
  return el(
    "div",
    { class: "actions" },
    el("label", { for: selectId }, "Failed deliveries of "),
    select,
    button,
  );
}

function failingRow(secret: string, view: HookView, a: Attempt, done: () => void) {
  return el(
    "li",
    { class: "failure" },
    el(
      "p",
      {},
      el("strong", {}, a.event_type),
      ` ${a.event_uuid} · attempt ${a.attempt} · ${a.status} · ${when(a.created_at)}`,
    ),
    el("p", {}, "Last response: ", lastResponse(a)),
    el("pre", { class: "body" }, a.response_body ?? "(no body)"),
    redeliverButton(secret, view.hook, a, done),
  );
}

export function renderHooks(secret: string, views: HookView[], refresh: () => void): void {
  byId("hooks").replaceChildren(
    ...(views.length
      ? views.map((view) => {
          const { hook } = view;
          const state = hook.is_active
            ? "active"
            : `disabled (${hook.disabled_reason ?? "by its owner"})`;
          return el(
            "article",
            { class: "panel hook", "data-hook": hook.id },
            el("h3", {}, `${hook.event_type} → ${hook.target_url}`),
            el(
              "p",
              { class: "hint" },
              `${state} · ${plural(hook.consecutive_failures, "failure")} in a row`,
            ),
            el("h4", {}, "Success rate per hour, 24 h"),
            successChart(view.buckets),
            el("h4", {}, "Latency per hour (p95, p50 inside)"),
            latencyChart(view.buckets),
            el("p", {}, summarise(view.buckets)),
            el("h4", {}, "Failing deliveries"),
            recoverControl(secret, hook, refresh),
            view.failing.length
              ? el(
                  "ul",
                  { class: "failures" },
                  ...view.failing.map((a) => failingRow(secret, view, a, refresh)),
                )
              : el(
                  "p",
                  { class: "hint" },
                  "None: every event's latest attempt succeeded or is running.",
                ),
          );
        })
      : [el("p", { class: "hint" }, "No webhook endpoint.")]),
  );
}

/** Failed attempts of every hook, newest first: the errors the console can show from D1. */
export function renderErrors(views: HookView[]): void {
  const failures = views
    .flatMap((v) => v.failing.map((a) => ({ hook: v.hook, a })))
    .sort((x, y) => y.a.created_at.localeCompare(x.a.created_at))
    .slice(0, 20);
  byId("errors").replaceChildren(
    ...(failures.length
      ? failures.map(({ hook, a }) =>
          el(
            "li",
            {},
            `${when(a.created_at)} · ${hook.target_url} · ${a.event_type} · ${lastResponse(a)}`,
          ),
        )
      : [el("li", {}, "No failing webhook delivery.")]),
  );
}
