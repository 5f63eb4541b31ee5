/**
 * Type-level checks of what `@switchboard/client` exports (its entry is `src/client/index.ts`):
 * the clients, the close codes, the frame types and the event maps, with events typed from the
 * protocol module. Compiled by `tsc -p src/client` and the root `tsc`; nothing here runs. The
 * built `.d.ts` (protocol types written out without zod) are compiled against the same kind of
 * code by test/e2e/sdk-package.e2e.test.ts.
 */
import {
  BusClient,
  CLOSE_CODES,
  type ClientEvents,
  type ErrorFrame,
  FINAL_CLOSE_CODES,
  type KindProtocol,
  PokerApi,
  type PokerClient,
  PokerRoomClient,
  type Reply,
  RoomClient,
  type ServerEvents,
  type ServerFrame,
  StateClient,
} from "../../src/client/index";

const poker = new PokerRoomClient("https://sb.example", "s1", { token: () => "t" });
// The documented name is the same class.
const samePoker: PokerClient = poker;
poker.on("story_changed", (d, frame: ServerFrame<ServerEvents["poker"]["story_changed"]>) => {
  const revealed: boolean = d.revealed;
  const seq: number | undefined = frame.seq;
  return [revealed, seq, samePoker];
});
// @ts-expect-error `story_changed` data has no `vote`
poker.on("story_changed", (d) => d.vote);

const threads = new RoomClient<KindProtocol<"threads">>({
  url: "wss://x/ws/threads/1",
  token: () => "t",
});
threads.on("message_created_or_updated", (d) => d.user_thread.unread_count);

const state = new StateClient({ baseUrl: "https://sb.example", personKey: "p1", token: () => "t" });
state.subscribe("step", (change) => {
  const previous: string = change.previous_state;
  return previous;
});
// @ts-expect-error only flows and steps can be watched
state.subscribe("task", () => undefined);

const bus = new BusClient({ baseUrl: "https://sb.example", db: "shop", token: () => "t" });
bus.poll(["orders"], (message) => {
  const id: string = message.message_id;
  return void id;
});
void new PokerApi("https://sb.example").createSession("t", { name: "Sprint 12" });

// The close codes are the protocol's one table.
const ended: 4410 = CLOSE_CODES.roomEnded.code;
const final: readonly number[] = FINAL_CLOSE_CODES;
const vote: ClientEvents["poker"]["vote_submitted"] = { choice: "5" };
const reply: Reply<{ unread_count: number }> = { request_id: 1, status: 200, errors: [] };
const error: ErrorFrame = { event: "error", data: { status: 400, errors: ["bad"] } };

export { ended, error, final, reply, vote };
