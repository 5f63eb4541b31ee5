import { env } from "cloudflare:test";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DEFAULT_CHOICES, storyPointsFor } from "../../src/features/poker/deck";
import { ADMIN, call, tokenFor } from "../helpers/http";
import { Actor, countFrame, frameStats, snapshotRoom } from "../helpers/reliability/frame-actor";
import {
  anyText,
  BUILTIN_KEYS,
  type CommandSpec,
  commandFamilies,
  type FuzzFrame,
  genericFamilies,
  jsonWithKey,
  nonBoolean,
  nonNumber,
  nonString,
  refusedFamily,
  tooLong,
} from "../helpers/reliability/frame-arbitraries";
import { FC_FRAME_RUNS, FC_SEED, FRAMES_AT_LEAST } from "../helpers/reliability/runs";
import { figure } from "../helpers/reliability/soak";
import { expectHttpError, snapshotD1 } from "../helpers/reliability/support";
import { connect, tryConnect } from "../helpers/ws";

/**
 * Property: for every room kind, random and mutated frames of every family are answered with a
 * 4xx in the contract's shape (never 500, never a stack), the socket stays open, and neither D1
 * nor the room's own storage (ordered stream, meta) changes. A valid request still answers after.
 */

const uid = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

interface Kind {
  /** The fuzzing user, and optionally a user whose valid frames are all refused. */
  main: Actor;
  refused?: { actor: Actor; frames: { event: string; data: unknown; status: number }[] };
  known: string[];
  specs: CommandSpec[];
  stub: DurableObjectStub;
  /** A valid request after the fuzzing: the socket must still work. */
  stillAnswers(main: Actor): Promise<void>;
}

const positiveIntLike = (v: unknown) => {
  const n = Number(v);
  return Number.isInteger(n) && n > 0;
};

const KINDS: Record<string, () => Promise<Kind>> = {
  test: async () => {
    const id = uid("fuzz");
    const main = await Actor.open(`/ws/test/${id}`, await tokenFor(uid("tester")));
    expect((await main.socket.request("increment", { by: 2 })).status).toBe(200);
    return {
      main,
      refused: {
        actor: main,
        frames: [
          { event: "shout", data: { text: "hi" }, status: 403 },
          { event: "conflict", data: {}, status: 403 },
        ],
      },
      known: ["echo", "increment", "shout", "conflict"],
      specs: [
        {
          event: "echo",
          valid: { text: "hi" },
          bad: { text: nonString },
          required: ["text"],
          strict: true,
        },
        {
          event: "increment",
          valid: { by: 1 },
          bad: {
            by: fc.oneof(
              nonNumber,
              fc.integer({ max: 0 }),
              fc.integer({ min: 101 }),
              fc.double({ min: 1.01, max: 99.99, noInteger: true }),
            ),
          },
          required: ["by"],
          strict: true,
        },
      ],
      stub: env.TEST_ROOM.get(env.TEST_ROOM.idFromName(id)),
      stillAnswers: async (a) => {
        expect((await a.socket.request("echo", { text: "still here" })).data).toEqual({
          text: "still here",
        });
      },
    };
  },

  poker: async () => {
    const session = await call("POST", "/api/poker/sessions", {
      token: ADMIN,
      body: { name: "Fuzz" },
    });
    const id = session.body.id;
    for (const label of ["A", "B"]) {
      await call("POST", `/api/poker/sessions/${id}/stories`, {
        token: ADMIN,
        body: { story_label: label, description: "<p>x</p>" },
      });
    }
    const path = `/ws/poker/${id}`;
    const main = await Actor.open(
      path,
      await tokenFor(uid("mod"), ["planning_poker.moderate", "planning_poker.vote"]),
    );
    expect((await main.socket.request("next_story_requested", {})).status).toBe(200);
    const spectator = await Actor.open(path, await tokenFor(uid("spectator")));
    // Participants are synced with the coalesced presence frame: settled before the snapshot.
    await spectator.socket.next(
      (f) => f?.event === "participants_changed" && f.data.participants.length === 2,
      "both participants listed",
    );
    const choices: readonly string[] = DEFAULT_CHOICES;
    const storyId = fc.oneof(
      fc.boolean(),
      fc.constant(""),
      tooLong(100),
      fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }),
      fc.array(fc.integer(), { maxLength: 2 }),
      fc.object({ maxDepth: 1 }),
      // well-formed ids of no story of this session: 404
      fc.uuid(),
      fc.integer(),
    );
    return {
      main,
      refused: {
        actor: spectator,
        frames: [
          { event: "next_story_requested", data: {}, status: 403 },
          { event: "points_submitted", data: { story_points: "5" }, status: 403 },
          { event: "vote_submitted", data: { choice: "3" }, status: 403 },
          { event: "reset_requested", data: {}, status: 403 },
          { event: "reveal_requested", data: {}, status: 403 },
        ],
      },
      known: [
        "next_story_requested",
        "points_submitted",
        "vote_submitted",
        "reset_requested",
        "reveal_requested",
        "heartbeat",
      ],
      specs: [
        {
          event: "next_story_requested",
          valid: {},
          bad: { story_id: storyId },
          required: [],
          strict: true,
        },
        {
          event: "points_submitted",
          valid: { story_points: "5" },
          bad: {
            story_points: fc.oneof(
              fc.boolean(),
              fc.constant(null),
              fc.array(fc.integer(), { maxLength: 2 }),
              tooLong(50),
              fc
                .oneof(anyText(), fc.double({ noNaN: true }))
                .filter((v) => storyPointsFor(choices, String(v)) === null),
            ),
            advance: nonBoolean,
          },
          required: ["story_points"],
          strict: true,
        },
        {
          event: "vote_submitted",
          valid: { choice: "3" },
          bad: {
            choice: fc.oneof(
              nonString,
              tooLong(200),
              anyText().filter((c) => !choices.includes(c)),
            ),
          },
          required: ["choice"],
          strict: true,
        },
        { event: "reset_requested", valid: {}, bad: {}, required: [], strict: true },
        {
          event: "reveal_requested",
          valid: {},
          bad: { revealed: nonBoolean },
          required: [],
          strict: true,
        },
        { event: "heartbeat", valid: {}, bad: {}, required: [], strict: true },
      ],
      stub: env.POKER_ROOM.get(env.POKER_ROOM.idFromName(id)),
      stillAnswers: async (a) => {
        expect((await a.socket.request("heartbeat", {})).status).toBe(200);
      },
    };
  },

  threads: async () => {
    const member = uid("member");
    const thread = await call("POST", "/api/threads", {
      token: ADMIN,
      body: { title: "Fuzz", type: "chat", members: [{ user_id: member, name: "M" }] },
    });
    expect(thread.status, JSON.stringify(thread.body)).toBe(201);
    const id = thread.body.id;
    const main = await Actor.open(`/ws/threads/${id}`, await tokenFor(member));
    const notPositiveInt = <T>(arb: fc.Arbitrary<T>) => arb.filter((v) => !positiveIntLike(v));
    return {
      main,
      known: ["mark_message_as_read", "thread_someone_is_writing"],
      specs: [
        {
          event: "mark_message_as_read",
          valid: { message: 1 },
          bad: {
            message: notPositiveInt(
              fc.oneof(
                anyText(),
                fc.integer({ max: 0 }),
                fc.double({ noNaN: true, noDefaultInfinity: true }),
                fc.constant(null),
                fc.constant(false),
                fc.object({ maxDepth: 1 }),
                fc.array(fc.jsonValue({ maxDepth: 1 }), { minLength: 2, maxLength: 3 }),
              ),
            ),
          },
          required: ["message"],
          strict: false,
        },
        {
          event: "thread_someone_is_writing",
          valid: { length: 1 },
          bad: {
            length: fc.oneof(
              nonNumber,
              fc.integer({ max: -1 }),
              fc.integer({ min: 1_000_000_001 }),
              fc.double({ min: 0.01, max: 1e6, noInteger: true }),
            ),
          },
          required: ["length"],
          strict: false,
        },
      ],
      stub: env.THREAD_ROOM.get(env.THREAD_ROOM.idFromName(id)),
      stillAnswers: async (a) => {
        expect((await a.socket.request("thread_someone_is_writing", { length: 3 })).status).toBe(
          200,
        );
      },
    };
  },

  bus: async () => {
    const db = uid("fuzz");
    const user = uid("listener");
    const main = await Actor.open(`/ws/bus/${db}`, await tokenFor(user));
    return {
      main,
      known: [],
      specs: [],
      stub: env.BUS_CHANNEL.get(env.BUS_CHANNEL.idFromName(db)),
      stillAnswers: async (a) => {
        const published = await call("POST", `/api/bus/${db}/notify`, {
          token: ADMIN,
          body: { title: "after-fuzz", user },
        });
        expect(published.status).toBe(201);
        const got = await a.socket.event("message");
        expect(got.data.message.title).toBe("after-fuzz");
      },
    };
  },

  persons: async () => {
    const key = uid("person");
    expect(
      (await call("POST", "/api/persons", { token: ADMIN, body: { key, name: "P" } })).status,
    ).toBe(201);
    const main = await Actor.open(`/ws/persons/${key}`, await tokenFor(key));
    const personKey = fc.oneof(
      nonString,
      fc.constant(""),
      tooLong(200),
      // someone else's key: 404
      anyText().filter((k) => k !== key && k.length > 0),
    );
    const entity = fc.oneof(
      nonString,
      anyText().filter((e) => e !== "flow" && e !== "step"),
    );
    const subscription = (event: string): CommandSpec => ({
      event,
      valid: { person_key: key, entity: "flow" },
      bad: { person_key: personKey, entity },
      required: ["person_key", "entity"],
      strict: false,
    });
    return {
      main,
      known: ["subscribe_state_change", "unsubscribe_state_change"],
      specs: [subscription("subscribe_state_change"), subscription("unsubscribe_state_change")],
      stub: env.PERSON_ROOM.get(env.PERSON_ROOM.idFromName(key)),
      stillAnswers: async (a) => {
        const reply = await a.socket.request("subscribe_state_change", {
          person_key: key,
          entity: "step",
        });
        expect(reply).toMatchObject({ status: 200, data: { current: [] } });
      },
    };
  },
};

// Refused permissions are logged as warnings by design; keep the output readable.
beforeAll(() => {
  vi.spyOn(console, "warn").mockImplementation(() => undefined);
});

describe.each(Object.keys(KINDS))("fuzzed frames in a %s room", (name) => {
  let kind: Kind;
  let families: [string, fc.Arbitrary<FuzzFrame>, Actor][];

  beforeAll(async () => {
    kind = await KINDS[name]!();
    families = [
      ...Object.entries(genericFamilies(kind.known)),
      ...Object.entries(commandFamilies(kind.specs)),
    ].map(([family, arb]) => [family, arb, kind.main]);
    if (kind.refused) {
      families.push([
        "valid but refused",
        refusedFamily("valid but refused", kind.refused.frames),
        kind.refused.actor,
      ]);
    }
  });

  afterAll(() => {
    kind.main.close();
    kind.refused?.actor.close();
  });

  it("refuses every family with a 4xx, keeps the socket open and stores nothing", async () => {
    const d1Before = await snapshotD1();
    const roomBefore = await snapshotRoom(kind.stub);
    for (const [, arb, actor] of families) {
      await fc.assert(
        fc.asyncProperty(arb, (frame) => actor.refused(frame)),
        { numRuns: FC_FRAME_RUNS, seed: FC_SEED, endOnFailure: true },
      );
    }
    expect(await snapshotD1()).toEqual(d1Before);
    expect(await snapshotRoom(kind.stub)).toEqual(roomBefore);
    await kind.stillAnswers(kind.main);
    const seen = new Set(kind.main.frames.map((f) => f.family));
    for (const [family, , actor] of families) {
      if (actor === kind.main) expect(seen.has(family), `family '${family}' ran`).toBe(true);
    }
  });
});

describe.each(Object.keys(KINDS))("keys named like JavaScript built-ins in a %s room", (name) => {
  it("answers every command's valid data with such a key at its top and in every object, never 5xx", async () => {
    const kind = await KINDS[name]!();
    const wrong: string[] = [];
    let socket = kind.main.socket;
    let sent = 0;
    const events = [
      ...kind.specs.map((s) => ({ event: s.event, data: s.valid })),
      { event: "no_such_event", data: {} },
    ];
    for (const { event, data } of events) {
      for (const key of BUILTIN_KEYS) {
        for (const nested of [false, true]) {
          // A fresh socket before the frame rate limit would answer instead of the room.
          if (++sent % 50 === 0) {
            socket.close();
            socket = await connect(kind.main.path, kind.main.token);
          }
          const rid = `builtin-${sent}`;
          const frame = jsonWithKey({ event, request_id: rid, data }, key, { polluted: 1 }, nested);
          socket.send(frame);
          const reply = await socket.reply(rid);
          countFrame(reply, socket);
          if (typeof reply.status !== "number" || reply.status >= 500) {
            wrong.push(
              `${event} ${key}${nested ? " (nested)" : ""}: ${JSON.stringify(reply).slice(0, 200)}`,
            );
          }
          expect(socket.closed, `${event} ${key}: the socket closed`).toBeNull();
        }
      }
    }
    socket.close();
    kind.main.close();
    kind.refused?.actor.close();
    expect(wrong).toEqual([]);
  });
});

afterAll(() => {
  figure("frames sent", frameStats.sent, "frames");
  figure("frame 5xx answers", frameStats.serverErrors, "answers");
  figure("sockets closed while fuzzing", frameStats.socketsClosed, "sockets");
});

it("answers random connect queries (since, channels, last_message) with 101 or a 4xx, never a 5xx", async () => {
  const session = await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name: "Q" } });
  const token = await tokenFor(uid("query"), ["bus.listen:*"]);
  const kinds = [`/ws/poker/${session.body.id}`, `/ws/bus/${uid("db")}`, `/ws/test/${uid("room")}`];
  const value = fc.oneof(
    anyText(40),
    tooLong(300),
    fc.constantFrom("-1", "1e309", "NaN", "0x10", "9007199254740993", "", ",,,", "user:*", "a,b,c"),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...kinds),
      fc.dictionary(fc.constantFrom("since", "channels", "last_message", "token"), value, {
        maxKeys: 3,
      }),
      async (path, params) => {
        const query = new URLSearchParams({ ...params, token }).toString();
        const res = await tryConnect(`${path}?${query}`);
        if (res instanceof Response) {
          expectHttpError(res.status, await res.text(), `${path}?${query}`);
        } else {
          res.close();
        }
      },
    ),
    { numRuns: FC_FRAME_RUNS, seed: FC_SEED, endOnFailure: true },
  );
});

it("answers a ping with pong after bad input", async () => {
  const poker = await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name: "P" } });
  const ws = await connect(`/ws/poker/${poker.body.id}`, await tokenFor(uid("pinger")));
  ws.send("{not json");
  expect((await ws.event("error")).data.status).toBe(400);
  ws.send("ping");
  await ws.next((f) => f === "pong", "pong");
  ws.close();
});

// Declared last, so it runs after every frame above (tests of a file run in order).
it(`sent at least ${FRAMES_AT_LEAST} frames, none answered 5xx, no socket closed`, () => {
  expect(frameStats.sent).toBeGreaterThanOrEqual(FRAMES_AT_LEAST);
  expect(frameStats.serverErrors).toBe(0);
  expect(frameStats.socketsClosed).toBe(0);
});
