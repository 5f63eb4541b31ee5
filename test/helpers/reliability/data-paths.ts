/**
 * Who receives what, read as a table: every row is (source event, receiver credential, path) →
 * delivered or not. `data-paths.test.ts` drives real sockets, SSE streams, long polls and the
 * webhook Queue and compares what each receiver got with this table.
 *
 * "Not delivered" is shown without sleeping: after the private event a marker the receiver may
 * see goes down the same path (the same room, or the receiver's own bus channel); once the
 * marker is in, the private event would have been too.
 */
export interface DataPathRow {
  path: string;
  event: string;
  receiver: string;
  delivered: boolean;
}

const rows = (path: string, event: string, receivers: Record<string, boolean>): DataPathRow[] =>
  Object.entries(receivers).map(([receiver, delivered]) => ({ path, event, receiver, delivered }));

const BUS_PATHS = ["bus WebSocket", "bus SSE", "bus long poll"];

export const DATA_PATHS: DataPathRow[] = [
  // Thread sockets: members and the observers of that thread; `secret` messages are the admin's.
  ...rows("thread socket", "message in thread T", {
    "member of T": true,
    "observer of T (threads.observe)": true,
    "admin on T": true,
    "member of thread U": false,
    "observer of thread U": false,
    "member removed from T (socket closed 4403)": false,
  }),
  ...rows("thread socket", "secret message in thread T", {
    "admin on T": true,
    "member of T": false,
    "observer of T (threads.observe)": false,
  }),
  ...rows("thread socket", "someone is writing in thread T", {
    "member of T": true,
    "member of thread U": false,
  }),
  ...rows("thread ?since=0 replay", "message in thread T", { "member of T": true }),
  ...rows("thread ?since=0 replay", "secret message in thread T", { "member of T": false }),

  // Poker: a vote's choice before the reveal (`votes`), beside who voted (`voted`).
  ...rows("poker socket", "vote of voter A, before the reveal", {
    moderator: true,
    "voter A": true,
    "voter B": false,
    spectator: false,
    "guest with a voter invite": false,
  }),
  ...rows("poker ?since=0 replay", "vote of voter A, before the reveal", { spectator: false }),
  ...rows("poker socket", "vote of voter A, after the reveal", {
    "voter B": true,
    spectator: true,
  }),

  // Bus: `user:` channels are always the caller's own; `client:<id>` reaches whoever names it;
  // other channels need a bus.listen:<glob> the listener holds and a name it listed.
  ...BUS_PATHS.flatMap((path) => [
    ...rows(path, "notify user:V", {
      "V (own user channel)": true,
      "V's API key (own user channel)": true,
      "W naming user:V": false,
      "W with bus.listen:* naming user:V": false,
    }),
    ...rows(path, "notify client:C", {
      "X naming client:C": true,
      "Y naming client:D": false,
    }),
    ...rows(path, "publish orders.eu", {
      "bus.listen:orders.* naming orders.eu": true,
      "bus.listen:orders.* naming orders.us": false,
    }),
  ]),

  // State: a person's own socket, or state.observe; never another person's.
  ...rows("person socket", "flow change of person P", {
    "P (own key)": true,
    "state.observe on P": true,
    "Q (own key)": false,
  }),

  // Webhooks: a hook carries only its own type; built-in types only the admin's hooks.
  ...rows("webhook delivery", "app event pkg-a", {
    "client hook on pkg-a (webhooks.subscribe:pkg-*)": true,
    "client hook on pkg-b (webhooks.subscribe:pkg-*)": false,
  }),
  ...rows("webhook delivery", "thread.message_created", {
    "admin hook on thread.message_created": true,
    "client hook on pkg-a (webhooks.subscribe:pkg-*)": false,
  }),
  ...rows("webhook subscribe", "subscribe with webhooks.subscribe:pkg-*", {
    "app type pkg-a": true,
    "app type other": false,
    "built-in thread.message_created": false,
  }),
  ...rows("webhook redeliver", "pkg-a event that went to hook A", {
    "hook A": true,
    "hook B (same owner, never sent it)": false,
  }),
];

/** The table's rows of one path. */
export function rowsOf(path: string): DataPathRow[] {
  return DATA_PATHS.filter((r) => r.path === path);
}
