import { env, runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { personRoom } from "../../src/features/state/person-room";
import { threadRoom } from "../../src/features/threads/thread-room";
import { DEFAULT_PRESENCE_GRACE_SECONDS } from "../../src/realtime/presence";
import { ADMIN, call, tokenFor } from "../helpers/http";
import { adminHook, backstopAndSettle } from "../helpers/reliability/outbox-faults";
import { createThread, party, threadSocket } from "../helpers/threads";
import { captureFetch } from "../helpers/webhooks";
import { connect, type TestSocket } from "../helpers/ws";

/**
 * `room.occupied`/`room.vacated` for the room kinds other than poker (contract §10): real
 * sockets, a real hook, the real Queue consumer. The kinds keep the default grace.
 */

const GRACE_MS = DEFAULT_PRESENCE_GRACE_SECONDS * 1000;

afterEach(() => vi.restoreAllMocks());

interface Kind {
  name: string;
  /** A fresh room of the kind and a token that may connect to it. */
  room(): Promise<{ id: string; open: () => Promise<TestSocket> }>;
  stub(id: string): DurableObjectStub;
}

const kinds: Kind[] = [
  {
    name: "threads",
    room: async () => {
      const ada = await party("ada");
      const id = await createThread(ada, []);
      return { id, open: () => threadSocket(id, ada.token) };
    },
    stub: (id) => threadRoom(env, id),
  },
  {
    name: "persons",
    room: async () => {
      const id = `p-${crypto.randomUUID()}`;
      const made = await call("POST", "/api/persons", {
        token: ADMIN,
        body: { key: id, name: "A" },
      });
      expect(made.status).toBe(201);
      const token = await tokenFor(id);
      return { id, open: () => connect(`/ws/persons/${id}`, token) };
    },
    stub: (id) => personRoom(env, id),
  },
];

/**
 * The lifecycle event types of one room as this test's hooks got them (the hooks of earlier
 * tests of the file get them too), each one's data checked.
 */
function lifecycleOf(
  posts: { url: string; body: string }[],
  hooks: { url: string }[],
  kind: string,
  id: string,
): string[] {
  return posts
    .filter((p) => hooks.some((h) => h.url === p.url))
    .map((p) => JSON.parse(p.body))
    .filter((b) => b.data?.id === id)
    .map((b) => {
      expect(b.data).toEqual({ kind, id });
      return b.event.type;
    });
}

describe.each(kinds)("presence of $name rooms", (kind) => {
  it("a real hook receives room.occupied on the first socket, room.vacated after the grace", async () => {
    const occupied = await adminHook("room.occupied");
    const vacated = await adminHook("room.vacated");
    const hooks = [occupied, vacated];
    const { calls } = captureFetch();
    const { id, open } = await kind.room();
    const first = await open();
    const second = await open();
    await backstopAndSettle(occupied.id);
    expect(lifecycleOf(calls, hooks, kind.name, id)).toEqual(["room.occupied"]);
    const roster = () => call("GET", `/api/rooms/${kind.name}/${id}/presence`, { token: ADMIN });
    expect((await roster()).body).toMatchObject({ count: 1, results: [{ connections: 2 }] });
    first.close();
    second.close();
    await vi.waitFor(async () => expect((await roster()).body.results[0]?.connections).toBe(0));
    // Within the grace the room is still occupied.
    await backstopAndSettle(vacated.id);
    expect(lifecycleOf(calls, hooks, kind.name, id)).toEqual(["room.occupied"]);
    // The room's clock past the grace, and the consumer's too: the event is due when stored.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + GRACE_MS + 1_000);
      expect(await runDurableObjectAlarm(kind.stub(id))).toBe(true);
      await backstopAndSettle(vacated.id);
    } finally {
      vi.useRealTimers();
    }
    expect(lifecycleOf(calls, hooks, kind.name, id)).toEqual(["room.occupied", "room.vacated"]);
    expect((await roster()).body).toMatchObject({ count: 0 });
  });
});
