/** Server errors stored by the Worker (`GET /api/errors`, `event: errors` of the stream). */
import type { Page, RecentError } from "./api";
import { byId, el, when } from "./dom";

/** Rows kept on the page: new ones arrive on top, the oldest fall off. */
const SHOWN = 50;

let shown: RecentError[] = [];

/** Adds `page` (newest first) to what is shown; an error already on the page is not repeated. */
export function addErrors(page: Page<RecentError>): void {
  const known = new Set(shown.map((e) => e.id));
  shown = [...page.results.filter((e) => !known.has(e.id)), ...shown]
    .sort((a, b) => b.id - a.id)
    .slice(0, SHOWN);
  byId("server-errors").replaceChildren(
    ...(shown.length
      ? shown.map((e) =>
          el(
            "tr",
            {},
            el("td", {}, when(e.at)),
            el("td", {}, el("code", {}, e.request_id ?? "—")),
            el("td", {}, e.room ?? "—"),
            el("td", {}, `${e.event}: ${e.message}`),
          ),
        )
      : [el("tr", {}, el("td", { colspan: "4" }, "No server error stored."))]),
  );
}

/** Forgets what was shown (signing out). */
export function clearErrors(): void {
  shown = [];
}
