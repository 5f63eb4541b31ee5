/**
 * Type-level checks of the SDK's event typing, compiled by `tsc -p src/client` (the SDK's own
 * settings, no Workers types) and by the root `tsc`: each `@ts-expect-error` must meet an error,
 * and each assignment must type-check. Nothing here runs.
 */
import type { PokerRoomClient } from "../../src/client/poker";
import type { KindProtocol, RoomClient } from "../../src/client/room-client";
import type { PersonRoomClient } from "../../src/client/state";

declare const poker: PokerRoomClient;
declare const persons: PersonRoomClient;
declare const bus: RoomClient<KindProtocol<"bus">>;
declare const threads: RoomClient<KindProtocol<"threads">>;
declare const untyped: RoomClient;

// Server events carry their data type.
poker.on("story_changed", (d) => {
  const votes: Record<string, { id: string; name: string }[]> = d.votes;
  const revealed: boolean = d.revealed;
  return [votes, revealed];
});
// @ts-expect-error `story_changed` data has `votes`, not `vote`
poker.on("story_changed", (d) => d.vote);
poker.on("story_points_submitted", (d) => {
  const points: number = d.story_points;
  // @ts-expect-error story points arrive as a number
  const text: string = d.story_points;
  return [points, text];
});
poker.on("participants_changed", (d) => d.participants.map((p) => p.username));
poker.on("resync", (d) => d.participants);
poker.on("token_expiring", (d) => {
  const at: string = d.expires_at;
  return at;
});
poker.on("close", (d) => {
  const code: number = d.code;
  return code;
});

// Client events take their data type, and reply with theirs.
void poker.request("vote_submitted", { choice: "3" });
// @ts-expect-error `vote_submitted` needs `choice`
void poker.request("vote_submitted", { choise: "3" });
// @ts-expect-error no such poker client event
void poker.request("vote", { choice: "3" });
void poker.request("reset_requested");
void poker.request("auth", { token: "t" }).then((r) => {
  const at: string | null | undefined = r.data?.expires_at;
  return at;
});

void persons.request("subscribe_state_change", { person_key: "p", entity: "flow" }).then((r) => {
  const ids: string[] | undefined = r.data?.current.map((i) => i.id);
  return ids;
});
// @ts-expect-error `entity` is "flow" or "step"
void persons.request("subscribe_state_change", { person_key: "p", entity: "task" });
persons.on("state_change", (d) => {
  const previous: string = d.previous_state;
  return previous;
});

bus.on("message", (d) => d.message?.message_id);
// @ts-expect-error the bus socket takes no client events but `auth`
bus.send("publish", {});

threads.on("message_created_or_updated", (d) => d.user_thread.unread_count);
void threads.request("mark_message_as_read", { message: 5 }).then((r) => r.data?.unread_count);

// A client without a kind accepts any event with any data.
untyped.on("counted", (d) => d.count);
void untyped.request("increment", { by: 1 });
