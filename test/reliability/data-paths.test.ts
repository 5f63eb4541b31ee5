import { afterEach, describe, expect, it, vi } from "vitest";
import { openSse, type SseReader } from "../helpers/bus";
import { ADMIN } from "../helpers/http";
import { DATA_PATHS, type DataPathRow, rowsOf } from "../helpers/reliability/data-paths";
import { api } from "../helpers/reliability/support";
import { type User, user } from "../helpers/reliability/world";
import { captureFetch } from "../helpers/webhooks";
import { connect, type TestSocket } from "../helpers/ws";

/**
 * Every row of ./data-paths.ts, observed: real sockets, SSE streams, long polls and webhook
 * POSTs through the real Queue. Each test fills in what its receivers got and compares it with
 * the table's rows of its path, so a leak shows as a row that flipped.
 */

const uid = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

async function ok(method: string, path: string, token: string, body?: unknown, status = 201) {
  const res = await api(method, path, { token, body });
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(status);
  return res.body;
}

/** The observed rows of `path`, in the table's order, for comparison with it. */
function observed(path: string, got: Record<string, Record<string, boolean>>): DataPathRow[] {
  return rowsOf(path).map((r) => ({ ...r, delivered: got[r.event]?.[r.receiver] ?? !r.delivered }));
}

describe("thread sockets", () => {
  const textOf = (f: any) =>
    f?.event === "message_created_or_updated" ? (f.data?.message?.text as string) : undefined;
  const hasText = (text: string) => (f: any) => textOf(f) === text;

  it("deliver a thread's messages to its members and observers only, secret ones to the admin only", async () => {
    const [a, b, c] = await Promise.all(["a", "b", "c"].map((p) => user(`t-${p}`)));
    const [observerT, observerU] = await Promise.all(
      ["ot", "ou"].map((p) => user(`t-${p}`, ["threads.observe"])),
    );
    const members = (...us: User[]) => us.map((u) => ({ user_id: u.id, name: u.id }));
    const t = (
      await ok("POST", "/api/threads", ADMIN, {
        title: "T",
        type: "chat",
        members: members(a!, b!),
      })
    ).id;
    const u = (
      await ok("POST", "/api/threads", ADMIN, { title: "U", type: "chat", members: members(c!) })
    ).id;
    await ok("POST", `/api/threads/${t}/ws-subscribe`, observerT!.token, undefined, 204);
    await ok("POST", `/api/threads/${u}/ws-subscribe`, observerU!.token, undefined, 204);

    const sockets = {
      "member of T": await connect(`/ws/threads/${t}`, b!.token),
      "observer of T (threads.observe)": await connect(`/ws/threads/${t}`, observerT!.token),
      "admin on T": await connect(`/ws/threads/${t}`, ADMIN),
      "member of thread U": await connect(`/ws/threads/${u}`, c!.token),
      "observer of thread U": await connect(`/ws/threads/${u}`, observerU!.token),
    };
    const writer = await connect(`/ws/threads/${t}`, a!.token);
    // A member removed before the message: its open socket is closed, nothing more reaches it.
    const removed = await user("t-removed");
    await ok("POST", `/api/threads/${t}/users`, ADMIN, { user_id: removed.id, name: "Removed" });
    const removedSocket = await connect(`/ws/threads/${t}`, removed.token);
    await ok("DELETE", `/api/threads/${t}/users/${removed.id}`, ADMIN, undefined, 204);
    expect((await removedSocket.waitClosed()).code).toBe(4403);

    const message = uid("message");
    const secret = uid("secret");
    await ok("POST", `/api/threads/${t}/messages`, a!.token, { text: message });
    await ok("POST", `/api/threads/${t}/messages`, ADMIN, { text: secret, type: "secret" });
    expect((await writer.request("thread_someone_is_writing", { length: 5 })).status).toBe(200);
    const markerT = uid("marker");
    const markerU = uid("marker");
    await ok("POST", `/api/threads/${t}/messages`, ADMIN, { text: markerT });
    await ok("POST", `/api/threads/${u}/messages`, ADMIN, { text: markerU });

    const got: Record<string, Record<string, boolean>> = {
      "message in thread T": {},
      "secret message in thread T": {},
      "someone is writing in thread T": {},
    };
    const typing = (f: any) =>
      f?.event === "thread_someone_is_writing" && f.data?.user?.id === a!.id;
    for (const [receiver, ws] of Object.entries(sockets)) {
      const marker = hasText(receiver.endsWith("U") ? markerU : markerT);
      await ws.next(marker, `the marker on ${receiver}`);
      got["message in thread T"]![receiver] = ws.frames.some(hasText(message));
      got["secret message in thread T"]![receiver] = ws.frames.some(hasText(secret));
      got["someone is writing in thread T"]![receiver] = ws.frames.some(typing);
      ws.close();
    }
    writer.close();
    got["message in thread T"]!["member removed from T (socket closed 4403)"] =
      removedSocket.frames.some(hasText(message));
    expect(observed("thread socket", got)).toEqual(rowsOf("thread socket"));

    // A member resuming from 0 gets its own view of the stored stream: the secret stays out.
    const replay = await connect(`/ws/threads/${t}?since=0`, b!.token);
    await replay.next(hasText(markerT), "the marker in the replay");
    const replayed = {
      "message in thread T": { "member of T": replay.frames.some(hasText(message)) },
      "secret message in thread T": { "member of T": replay.frames.some(hasText(secret)) },
    };
    replay.close();
    expect(observed("thread ?since=0 replay", replayed)).toEqual(rowsOf("thread ?since=0 replay"));
  });
});

describe("poker sockets", () => {
  const storyChanges = (ws: TestSocket) => ws.frames.filter((f) => f?.event === "story_changed");
  const showsVoteOf = (f: any, id: string) =>
    Object.values<any[]>(f.data?.votes ?? {}).some((voters) => voters.some((v) => v.id === id));
  const voted = (id: string) => (f: any) =>
    f?.event === "story_changed" && (f.data?.voted ?? []).some((v: any) => v.id === id);

  it("show a vote's choice before the reveal to the moderator and the voter only, on live sockets and on replay", async () => {
    const session = (await ok("POST", "/api/poker/sessions", ADMIN, { name: "Paths" })).id;
    await ok("POST", `/api/poker/sessions/${session}/stories`, ADMIN, { story_label: "S" });
    const path = `/ws/poker/${session}`;
    const [mod, voterA, voterB, voterC, spectator] = await Promise.all([
      user("moderator", ["planning_poker.moderate"]),
      user("voter-a", ["planning_poker.vote"]),
      user("voter-b", ["planning_poker.vote"]),
      user("voter-c", ["planning_poker.vote"]),
      user("spectator"),
    ]);
    const invite = await ok("POST", `/api/poker/sessions/${session}/invites`, ADMIN, {
      role: "voter",
    });
    const guest = await ok("POST", `/api/poker/sessions/${session}/join`, "", {
      invite: invite.invite,
      name: "Guest",
    });
    const sockets = {
      moderator: await connect(path, mod!.token),
      "voter A": await connect(path, voterA!.token),
      "voter B": await connect(path, voterB!.token),
      spectator: await connect(path, spectator!.token),
      "guest with a voter invite": await connect(path, guest.token),
    };
    // A third voter keeps the story open after B's vote (the marker): not everyone has voted.
    const third = await connect(path, voterC!.token);
    expect((await sockets.moderator.request("next_story_requested", {})).status).toBe(200);
    expect((await sockets["voter A"].request("vote_submitted", { choice: "5" })).status).toBe(200);
    expect((await sockets["voter B"].request("vote_submitted", { choice: "3" })).status).toBe(200);

    const before: Record<string, boolean> = {};
    for (const [receiver, ws] of Object.entries(sockets)) {
      await ws.next(voted(voterB!.id), `B's vote on ${receiver}'s socket`);
      before[receiver] = storyChanges(ws).some((f) => showsVoteOf(f, voterA!.id));
    }

    const replay = await connect(`${path}?since=0`, (await user("late-spectator")).token);
    await replay.next(voted(voterB!.id), "B's vote in the replay");
    const replayed = storyChanges(replay).some((f) => showsVoteOf(f, voterA!.id));

    expect((await sockets.moderator.request("reveal_requested", {})).status).toBe(200);
    const after: Record<string, boolean> = {};
    for (const receiver of ["voter B", "spectator"] as const) {
      const ws = sockets[receiver];
      const revealed = await ws.next(
        (f) => f?.event === "story_changed" && f.data?.revealed,
        "the reveal",
      );
      after[receiver] = showsVoteOf(revealed, voterA!.id);
    }
    for (const ws of [...Object.values(sockets), third, replay]) ws.close();

    expect(
      observed("poker socket", {
        "vote of voter A, before the reveal": before,
        "vote of voter A, after the reveal": after,
      }),
    ).toEqual(rowsOf("poker socket"));
    expect(
      observed("poker ?since=0 replay", {
        "vote of voter A, before the reveal": { spectator: replayed },
      }),
    ).toEqual(rowsOf("poker ?since=0 replay"));
  });
});

describe("bus: WebSocket, SSE and long poll", () => {
  /** A listener of one path, resumed from `cursor` so nothing published after it is missed. */
  interface Listener {
    /** Everything received up to and including the marker. */
    untilMarker(marker: string): Promise<any[]>;
    close(): void;
  }

  const typeOf = (m: any) => m?.message?.title ?? m?.message?.type;

  async function listen(
    path: string,
    db: string,
    token: string,
    channels: string[],
    cursor: string,
  ): Promise<Listener> {
    if (path === "bus WebSocket") {
      const query = new URLSearchParams({ channels: channels.join(","), last_message: cursor });
      const ws = await connect(`/ws/bus/${db}?${query}`, token);
      return {
        untilMarker: async (marker) => {
          await ws.next(
            (f) => f?.event === "message" && typeOf(f.data) === marker,
            `${marker} on a socket`,
          );
          return ws.frames.filter((f) => f?.event === "message").map((f) => f.data);
        },
        close: () => ws.close(),
      };
    }
    if (path === "bus SSE") {
      const reader = (await openSse(db, token, channels, cursor)) as SseReader;
      expect(reader.events, "the SSE stream opened").toBeDefined();
      const got: any[] = [];
      return {
        untilMarker: async (marker) => {
          while (typeOf(got.at(-1)?.data) !== marker) got.push(await reader.next());
          return got.map((e) => e.data);
        },
        close: () => void reader.close(),
      };
    }
    // Long poll: one answer per call, the cursor moved on as a Tryton client does.
    return {
      untilMarker: async (marker) => {
        const got: any[] = [];
        let last = cursor;
        while (typeOf(got.at(-1)) !== marker) {
          const res = await api("POST", `/${db}/bus?timeout=5`, {
            token,
            body: { last_message: last, channels },
          });
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          expect(res.body.message, `a message before ${marker}`).not.toBeNull();
          got.push(res.body);
          last = res.body.message.message_id;
        }
        return got;
      },
      close: () => undefined,
    };
  }

  it.each(["bus WebSocket", "bus SSE", "bus long poll"])(
    "%s delivers user:, client: and listened channels only to who may have them",
    async (path) => {
      const db = uid("paths");
      const victim = await user("v");
      const key = await ok("POST", "/api/keys", ADMIN, {
        name: "V's server",
        user: { id: victim.id, name: "V" },
      });
      const receivers: Record<string, { who: User; channels: string[] }> = {
        "V (own user channel)": { who: victim, channels: [`user:${victim.id}`] },
        "V's API key (own user channel)": {
          who: { id: victim.id, token: key.key },
          channels: [`user:${victim.id}`],
        },
        "W naming user:V": { who: await user("w"), channels: [`user:${victim.id}`] },
        "W with bus.listen:* naming user:V": {
          who: await user("w-all", ["bus.listen:*"]),
          channels: [`user:${victim.id}`],
        },
        "X naming client:C": { who: await user("x"), channels: ["client:c-1"] },
        "Y naming client:D": { who: await user("y"), channels: ["client:d-1"] },
        "bus.listen:orders.* naming orders.eu": {
          who: await user("l-eu", ["bus.listen:orders.*"]),
          channels: ["orders.eu"],
        },
        "bus.listen:orders.* naming orders.us": {
          who: await user("l-us", ["bus.listen:orders.*"]),
          channels: ["orders.us"],
        },
      };
      // Every receiver's cursor is a message on its own channel, published before anything else.
      const listeners: Record<string, Listener> = {};
      for (const [name, r] of Object.entries(receivers)) {
        const base = await ok("POST", `/api/bus/${db}/notify`, ADMIN, {
          title: "baseline",
          user: r.who.id,
        });
        listeners[name] = await listen(path, db, r.who.token, r.channels, base.message_id);
      }
      await ok("POST", `/api/bus/${db}/notify`, ADMIN, { title: "private-user", user: victim.id });
      await ok("POST", `/api/bus/${db}/notify`, ADMIN, { title: "private-client", client: "c-1" });
      await ok("POST", `/api/bus/${db}/publish`, ADMIN, {
        channel: "orders.eu",
        message: { type: "private-orders" },
      });
      for (const r of Object.values(receivers)) {
        await ok("POST", `/api/bus/${db}/notify`, ADMIN, { title: "marker", user: r.who.id });
      }

      const got: Record<string, Record<string, boolean>> = {
        "notify user:V": {},
        "notify client:C": {},
        "publish orders.eu": {},
      };
      for (const [name, listener] of Object.entries(listeners)) {
        const types = (await listener.untilMarker("marker")).map(typeOf);
        listener.close();
        got["notify user:V"]![name] = types.includes("private-user");
        got["notify client:C"]![name] = types.includes("private-client");
        got["publish orders.eu"]![name] = types.includes("private-orders");
      }
      // Rows name each receiver under the events it is tested with.
      expect(observed(path, got)).toEqual(rowsOf(path));
    },
  );
});

describe("person sockets", () => {
  it("deliver a person's state changes to that person and to state.observe only", async () => {
    const persons = [uid("person-p"), uid("person-q")] as const;
    const flows: string[] = [];
    for (const key of persons) {
      await ok("POST", "/api/persons", ADMIN, { key, name: key });
      flows.push(
        (
          await ok("POST", `/api/persons/${key}/flows`, ADMIN, {
            identifier: "f",
            state: "inactive",
          })
        ).id,
      );
    }
    const [p, q] = persons;
    const tokenOf = async (id: string, permissions: string[] = []) =>
      (await ok("POST", "/api/tokens", ADMIN, { user: { id, name: id }, permissions }))
        .token as string;
    const sockets = {
      "P (own key)": await connect(`/ws/persons/${p}`, await tokenOf(p)),
      "state.observe on P": await connect(
        `/ws/persons/${p}`,
        await tokenOf(uid("observer"), ["state.observe"]),
      ),
      "Q (own key)": await connect(`/ws/persons/${q}`, await tokenOf(q)),
    };
    for (const [receiver, ws] of Object.entries(sockets)) {
      const key = receiver.startsWith("Q") ? q : p;
      const reply = await ws.request("subscribe_state_change", { person_key: key, entity: "flow" });
      expect(reply.status, receiver).toBe(200);
    }
    await ok("PATCH", `/api/flows/${flows[0]}`, ADMIN, { state: "active" }, 200);
    // Markers: P's flow completes, Q's flow changes.
    await ok("PATCH", `/api/flows/${flows[0]}`, ADMIN, { state: "completed" }, 200);
    await ok("PATCH", `/api/flows/${flows[1]}`, ADMIN, { state: "completed" }, 200);

    const change = (id: string, state: string) => (f: any) =>
      f?.event === "state_change" && f.data?.id === id && f.data?.state === state;
    const got: Record<string, boolean> = {};
    for (const [receiver, ws] of Object.entries(sockets)) {
      const marker = receiver.startsWith("Q")
        ? change(flows[1]!, "completed")
        : change(flows[0]!, "completed");
      await ws.next(marker, `the marker on ${receiver}`);
      got[receiver] = ws.frames.some(change(flows[0]!, "active"));
      ws.close();
    }
    expect(observed("person socket", { "flow change of person P": got })).toEqual(
      rowsOf("person socket"),
    );
  });
});

describe("webhooks", () => {
  afterEach(() => vi.restoreAllMocks());

  /** Polls until `check` passes: the real Queue delivers within about a second here. */
  async function eventually(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it("carry only the hook's own type, built-in types only to the admin's hooks, and redeliver only what a hook was sent", async () => {
    const { calls } = captureFetch();
    const prefix = uid("pkg");
    const [typeA, typeB, other] = [`${prefix}-a`, `${prefix}-b`, uid("other")];
    for (const t of [typeA, typeB, other]) {
      await ok("POST", "/api/webhooks/event-types", ADMIN, { event_type: t, description: t });
    }
    const client = await user("subscriber", [`webhooks.subscribe:${prefix}-*`]);
    const target = (name: string) => `https://example.com/${prefix}/${name}`;
    const subscribe = (event_type: string, token: string) =>
      api("POST", "/api/webhooks", { token, body: { event_type, target_url: target(event_type) } });

    const hookA = await subscribe(typeA, client.token);
    const hookB = await subscribe(typeB, client.token);
    const subscribed = {
      "app type pkg-a": hookA.status === 201,
      "app type other": (await subscribe(other, client.token)).status === 201,
      "built-in thread.message_created":
        (await subscribe("thread.message_created", client.token)).status === 201,
    };
    const admins = await subscribe("thread.message_created", ADMIN);
    expect([hookA.status, hookB.status, admins.status]).toEqual([201, 201, 201]);

    const emit = async (event_type: string) =>
      (await ok("POST", "/api/webhook-events", ADMIN, { event_type, data: { n: 1 } }, 202))
        .event_uuid as string;
    const privateA = await emit(typeA);
    const thread = await ok("POST", "/api/threads", ADMIN, {
      title: "Hooked",
      type: "chat",
      members: [],
    });
    await ok("POST", `/api/threads/${thread.id}/messages`, ADMIN, { text: "to the admin's hook" });
    // Markers: one event of each hook's own type after the private ones.
    const markerA = await emit(typeA);
    const markerB = await emit(typeB);

    const to = (hook: string) => calls.filter((c) => c.url === target(hook));
    const ids = (hook: string) => to(hook).map((c) => c.headers["webhook-id"]);
    await eventually(
      "the markers",
      () => ids(typeA).includes(markerA) && ids(typeB).includes(markerB),
    );
    await eventually("the thread message", () => to("thread.message_created").length > 0);
    const types = (hook: string) => to(hook).map((c) => c.headers["x-whisperer-event"]);

    const delivered = {
      "app event pkg-a": {
        "client hook on pkg-a (webhooks.subscribe:pkg-*)": ids(typeA).includes(privateA),
        "client hook on pkg-b (webhooks.subscribe:pkg-*)": ids(typeB).includes(privateA),
      },
      "thread.message_created": {
        "admin hook on thread.message_created":
          types("thread.message_created").includes("thread.message_created"),
        "client hook on pkg-a (webhooks.subscribe:pkg-*)":
          types(typeA).includes("thread.message_created"),
      },
    };
    // Beyond the rows: whatever else reached a client hook was of that hook's own type.
    expect([...new Set(types(typeA))]).toEqual([typeA]);
    expect([...new Set(types(typeB))]).toEqual([typeB]);

    const redeliver = (hook: string) =>
      api("POST", `/api/webhooks/${hook}/deliveries/${privateA}/redeliver`, {
        token: client.token,
      });
    const redelivered = {
      "pkg-a event that went to hook A": {
        "hook A": (await redeliver(hookA.body.id)).status === 202,
        "hook B (same owner, never sent it)": (await redeliver(hookB.body.id)).status === 202,
      },
    };

    expect(observed("webhook delivery", delivered)).toEqual(rowsOf("webhook delivery"));
    expect(
      observed("webhook subscribe", { "subscribe with webhooks.subscribe:pkg-*": subscribed }),
    ).toEqual(rowsOf("webhook subscribe"));
    expect(observed("webhook redeliver", redelivered)).toEqual(rowsOf("webhook redeliver"));
  });
});

it("every path of the table is driven by a test here", () => {
  const driven = [
    "thread socket",
    "thread ?since=0 replay",
    "poker socket",
    "poker ?since=0 replay",
    "bus WebSocket",
    "bus SSE",
    "bus long poll",
    "person socket",
    "webhook delivery",
    "webhook subscribe",
    "webhook redeliver",
  ];
  expect([...new Set(DATA_PATHS.map((r) => r.path))].sort()).toEqual(driven.sort());
});
