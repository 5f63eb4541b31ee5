/**
 * The end of a session: everyone sees what was estimated (the summary endpoint, with the
 * page's own token), can copy it as text or download it as CSV, and, when the session was
 * created with another `end_redirect_url` than the default, continues there.
 */
import { PokerApi, type PokerSummary } from "../../client/poker";
import { explain } from "./explain";
import { $, copyText, el, notify, showOnly } from "./view";

const api = new PokerApi(location.origin);
const DEFAULT_END_URL = "/poker/";

type SummaryStory = PokerSummary["stories"][number];

const fmt = (x: number | null) => (x === null ? "–" : String(x));

function votesText(story: SummaryStory): string {
  const parts = Object.entries(story.votes)
    .filter(([, voters]) => voters.length > 0)
    .sort((a, b) => b[1].length - a[1].length)
    .map(([choice, voters]) => `${choice} ×${voters.length}`);
  return parts.join(", ") || "no votes";
}

/** The summary as plain text, for pasting into a ticket or a chat. */
export function summaryText(s: PokerSummary): string {
  const lines = s.stories.map((story) => {
    const points = story.story_points === null ? "no points" : `${story.story_points} points`;
    const agreement = story.stats.consensus ? ", consensus" : "";
    return `- ${story.story_label}: ${points} (votes: ${votesText(story)}; mean ${fmt(story.stats.mean)}, median ${fmt(story.stats.median)}${agreement})`;
  });
  return [`${s.name}: planning poker summary`, ...lines].join("\n");
}

function row(story: SummaryStory): HTMLTableRowElement {
  // `data-label` names the column where a phone shows the row as a card (style.css).
  const cell = (label: string, text: string, className = "") => {
    const td = el("td", { className }, [text]);
    td.dataset.label = label;
    return td;
  };
  return el("tr", {}, [
    el("th", { scope: "row" }, [story.story_label]),
    cell("Points", story.story_points === null ? "–" : String(story.story_points), "num"),
    cell("Votes", votesText(story)),
    cell("Mean", fmt(story.stats.mean), "num"),
    cell("Median", fmt(story.stats.median), "num"),
    story.stats.consensus
      ? cell("Agreement", "Consensus", "consensus")
      : cell("Agreement", story.stats.count ? "Mixed" : "–"),
  ]);
}

export async function showSummary(
  token: () => Promise<string>,
  sessionId: string,
  redirectUrl?: string,
): Promise<void> {
  showOnly("summary");
  let data: PokerSummary;
  try {
    data = await api.summary(await token(), sessionId);
  } catch (err) {
    notify(`The session has ended, but its summary could not be loaded. ${explain(err)}`);
    return;
  }
  $("title").textContent = data.name;
  $("summary-title").textContent = `Summary: ${data.name}`;
  const body = $("summary-table").querySelector("tbody")!;
  body.replaceChildren(
    ...(data.stories.length
      ? data.stories.map(row)
      : [el("tr", {}, [el("td", { colSpan: 6 }, ["No stories were estimated."])])]),
  );
  $<HTMLButtonElement>("copy-summary").onclick = (e) =>
    copyText(e.currentTarget as HTMLButtonElement, summaryText(data));
  $<HTMLButtonElement>("download-csv").onclick = async () => {
    try {
      const csv = await api.summaryCsv(await token(), sessionId);
      const link = el("a", {
        href: URL.createObjectURL(new Blob([csv], { type: "text/csv" })),
        download: `${data.name.replace(/[^\w.-]+/g, "-")}-summary.csv`,
      });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (err) {
      notify(explain(err));
    }
  };
  const next = redirectUrl ?? data.end_redirect_url;
  const onward = $<HTMLAnchorElement>("continue");
  onward.hidden = !next || next === DEFAULT_END_URL;
  if (!onward.hidden) onward.href = next;
}
