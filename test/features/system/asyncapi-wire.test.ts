import { describe, expect, it } from "vitest";
import { allFrames, replyFrame } from "../../../src/features/system/asyncapi-frames";
import { ADMIN, call, tokenFor } from "../../helpers/http";
import { createThread, messageEvent, party, postOk, threadSocket } from "../../helpers/threads";
import { connect } from "../../helpers/ws";

/**
 * The AsyncAPI document's frame schemas against what real rooms send over real sockets: each
 * frame must validate, and lose nothing to the schema (a field the document does not describe
 * fails too).
 */

const FRAMES = new Map(allFrames().map((f) => [f.id, f.schema]));
const GENERIC_REPLY = replyFrame();

function expectDocumented(id: string, frame: unknown): void {
  const schema = id === "reply" ? GENERIC_REPLY : FRAMES.get(id);
  if (!schema) throw new Error(`no frame '${id}' in the document`);
  const parsed = schema.safeParse(frame);
  expect(parsed.success ? [] : parsed.error.issues, id).toEqual([]);
  expect(parsed.data, `${id}: every field is described`).toEqual(frame);
}

describe("the documented frames are the frames rooms send", () => {
  it("poker: events, replies, the error frame, the auth reply and ping/pong", async () => {
    const session = (
      await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name: "Sprint" } })
    ).body;
    await call("POST", `/api/poker/sessions/${session.id}/stories`, {
      token: ADMIN,
      body: { story_label: "S1", description: "<p>S1</p>" },
    });
    const user = `doc-${crypto.randomUUID().slice(0, 8)}`;
    const permissions = ["planning_poker.moderate", "planning_poker.vote"];
    const token = await tokenFor(user, permissions);
    const ws = await connect(`/ws/poker/${session.id}`, token);

    expectDocumented("poker.server.participants_changed", await ws.event("participants_changed"));
    const next = await ws.request("next_story_requested", {}, 1);
    expectDocumented("reply", next);
    expect(next.status).toBe(200);
    const story = await ws.event("story_changed");
    expect(story.seq).toEqual(expect.any(Number));
    expectDocumented("poker.server.story_changed", story);
    expectDocumented("reply", await ws.request("vote_submitted", { choice: "13" }, 2));
    expectDocumented("reply", await ws.request("vote_submitted", { choice: "nope" }, 3));

    ws.send({ event: "no_such_event", data: {} });
    const error = await ws.event("error");
    expectDocumented("poker.server.error", error);
    expect(error.data.status).toBe(400);

    const refused = await ws.request("auth", { token: "not-a-token" }, 4);
    expect(refused.status).toBe(401);
    expectDocumented("poker.reply.auth", refused);
    const auth = await ws.request("auth", { token: await tokenFor(user, permissions) }, 5);
    expect(auth.status).toBe(200);
    expectDocumented("poker.reply.auth", auth);

    expectDocumented("reply", await ws.request("vote_withdrawn", {}, 6));
    const started = await ws.request("timer_started", { seconds: 60 }, 7);
    expect(started.status).toBe(200);
    expectDocumented("reply", started);
    expectDocumented("poker.server.timer_changed", await ws.event("timer_changed"));
    await call("POST", `/api/poker/sessions/${session.id}/stories`, {
      token: ADMIN,
      body: { story_label: "S2", description: "two" },
    });
    expectDocumented("poker.server.story_added", await ws.event("story_added"));
    const resumed = await connect(`/ws/poker/${session.id}?since=999999`, token);
    const resync = await resumed.event("resync");
    expect(resync.data.timer.seconds).toBe(60);
    expectDocumented("poker.server.resync", resync);
    resumed.close();

    ws.send("ping");
    expect(await ws.next((f) => f === "pong", "pong")).toBe("pong");
    ws.close();
  });

  it("persons: resync, the subscribe reply and state_change with its request_id", async () => {
    const key = `p-${crypto.randomUUID()}`;
    await call("POST", "/api/persons", { token: ADMIN, body: { key, name: "Ada" } });
    const flow = (
      await call("POST", `/api/persons/${key}/flows`, {
        token: ADMIN,
        body: { identifier: "onboarding", state: "inactive" },
      })
    ).body;
    const ws = await connect(`/ws/persons/${key}?since=1`, await tokenFor(key));
    expectDocumented("persons.server.resync", await ws.event("resync"));

    ws.send({
      action: "subscribe_state_change",
      request_id: 7,
      data: { person_key: key, entity: "flow" },
    });
    expectDocumented("persons.reply.subscribe_state_change", await ws.reply(7));
    await call("PATCH", `/api/flows/${flow.id}`, { token: ADMIN, body: { state: "active" } });
    const change = await ws.event("state_change");
    expect(change.request_id).toBe(7);
    expectDocumented("persons.server.state_change", change);
    ws.close();
  });

  it("threads: a message event, the mark-read reply, typing and resync", async () => {
    const ada = await party("doc-ada");
    const bob = await party("doc-bob");
    const id = await createThread(ada, [{ user_id: bob.id }]);
    const [wa, wb] = await Promise.all([threadSocket(id, ada.token), threadSocket(id, bob.token)]);
    const posted = await postOk(ada.token, id, "one");
    const event = await messageEvent(wb, posted.id);
    expectDocumented("threads.server.message_created_or_updated", event);
    expectDocumented(
      "threads.reply.mark_message_as_read",
      await wb.request("mark_message_as_read", { message: posted.id }, 1),
    );
    wb.send({ event: "thread_someone_is_writing", data: { length: 1000 } });
    expectDocumented(
      "threads.server.thread_someone_is_writing",
      await wa.event("thread_someone_is_writing"),
    );
    const resumed = await threadSocket(`${id}?since=999999`, bob.token);
    expectDocumented("threads.server.resync", await resumed.event("resync"));
    for (const ws of [wa, wb, resumed]) ws.close();
  });

  it("bus: a message event", async () => {
    const db = `doc${crypto.randomUUID().slice(0, 8)}`;
    const user = `doc-${crypto.randomUUID().slice(0, 8)}`;
    const ws = await connect(`/ws/bus/${db}`, await tokenFor(user));
    await call("POST", `/api/bus/${db}/notify`, { token: ADMIN, body: { title: "Hi", user } });
    expectDocumented("bus.server.message", await ws.event("message"));
    ws.close();
  });
});
