/** Live rooms by kind, their totals and bus namespaces (`GET /api/stats`, `GET /api/rooms`). */
import { explain, type LiveRoom, type Page, type PokerSession, request, type Stats } from "./api";
import { byId, el, plural, when } from "./dom";

export function renderTotals(stats: Stats): void {
  const kinds = Object.entries(stats.rooms);
  byId("room-kinds").replaceChildren(
    ...(kinds.length
      ? kinds.map(([kind, t]) =>
          el(
            "li",
            {},
            el("strong", {}, kind),
            ` ${plural(t.active, "live room")}, ${plural(t.sockets, "socket")}`,
          ),
        )
      : [el("li", {}, "No room has reported yet.")]),
  );
  const namespaces = Object.entries(stats.bus);
  byId("bus").replaceChildren(
    ...(namespaces.length
      ? namespaces.map(([db, b]) =>
          el(
            "tr",
            {},
            el("th", { scope: "row" }, db),
            el("td", {}, String(b.messages_24h)),
            el("td", {}, String(b.subscribers)),
          ),
        )
      : [el("tr", {}, el("td", { colspan: "3" }, "No bus namespace has reported yet."))]),
  );
  const w = stats.webhooks;
  const rate =
    w.success_rate_24h === null ? "—" : `${Math.round(w.success_rate_24h * 1000) / 10} %`;
  byId("webhook-totals").textContent =
    `${plural(w.hooks_active, "active hook")} · ${w.deliveries_pending} pending · ` +
    `${w.deliveries_failed_24h} failed in 24 h · success rate ${rate} over 24 h`;
  byId("updated").textContent = `Updated ${when(stats.generated_at)}`;
}

export function renderRooms(rooms: Page<LiveRoom>, open: (room: LiveRoom) => void): void {
  byId("rooms").replaceChildren(
    ...(rooms.results.length
      ? rooms.results.map((room) =>
          el(
            "tr",
            {},
            el("td", {}, room.kind),
            el("th", { scope: "row" }, roomButton(room, open)),
            el("td", {}, String(room.sockets)),
            el("td", {}, String(room.shards)),
            el("td", {}, when(room.last_event_at)),
          ),
        )
      : [el("tr", {}, el("td", { colspan: "5" }, "No live room (none has a socket)."))]),
  );
  byId("rooms-more").hidden = rooms.next === null;
}

function roomButton(room: LiveRoom, open: (room: LiveRoom) => void): HTMLButtonElement {
  const button = el("button", { type: "button", class: "link" }, room.id);
  button.addEventListener("click", () => open(room));
  return button;
}

/** What the API tells of one room; a poker room also shows its session (any valid key reads it). */
export async function showRoom(secret: string, room: LiveRoom): Promise<void> {
  const panel = byId("room-details");
  panel.hidden = false;
  const facts = el(
    "dl",
    {},
    el("dt", {}, "Kind"),
    el("dd", {}, room.kind),
    el("dt", {}, "Id"),
    el("dd", {}, room.id),
    el("dt", {}, "Sockets"),
    el("dd", {}, String(room.sockets)),
    el("dt", {}, "Shards"),
    el("dd", {}, String(room.shards)),
    el("dt", {}, "Last event"),
    el("dd", {}, when(room.last_event_at)),
  );
  const heading = el("h3", { tabindex: "-1" }, `Room ${room.kind}/${room.id}`);
  panel.replaceChildren(heading, facts);
  heading.focus();
  if (room.kind !== "poker") return;
  try {
    const session = await request<PokerSession>(
      secret,
      "GET",
      `/api/poker/sessions/${encodeURIComponent(room.id)}`,
    );
    facts.append(
      el("dt", {}, "Session"),
      el("dd", {}, session.name),
      el("dt", {}, "Stories"),
      el("dd", {}, String(session.stories?.length ?? 0)),
      el("dt", {}, "Ended"),
      el("dd", {}, session.ended ? "yes" : "no"),
    );
    panel.append(
      el(
        "p",
        { class: "hint" },
        "Who is in the room is told only to its sockets (participants_changed); the REST API gives the session.",
      ),
    );
  } catch (err) {
    panel.append(el("p", { class: "hint" }, `The session could not be read. ${explain(err)}`));
  }
}
