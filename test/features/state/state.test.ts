import { abortAllDurableObjects, env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { PersonRoom, personRoom } from "../../../src/features/state/person-room";
import { ADMIN, call, tokenFor } from "../../helpers/http";
import { connect, type TestSocket, tryConnect } from "../../helpers/ws";

/** A person with one flow and one step of that flow, created through the admin REST API. */
async function seedPerson() {
  const key = `p-${crypto.randomUUID()}`;
  expect(
    (await call("POST", "/api/persons", { token: ADMIN, body: { key, name: "Ada" } })).status,
  ).toBe(201);
  const flow = await call("POST", `/api/persons/${key}/flows`, {
    token: ADMIN,
    body: { identifier: "onboarding", state: "inactive" },
  });
  const step = await call("POST", `/api/flows/${flow.body.id}/steps`, {
    token: ADMIN,
    body: { identifier: "welcome", state: "inactive" },
  });
  return { key, flow: flow.body, step: step.body };
}

const setFlow = (id: string, state: string) =>
  call("PATCH", `/api/flows/${id}`, { token: ADMIN, body: { state } });
const setStep = (id: string, state: string) =>
  call("PATCH", `/api/steps/${id}`, { token: ADMIN, body: { state } });

/** Sends a frame the way the original clients do (`action`) and waits for its reply. */
function act(ws: TestSocket, action: string, data: unknown, requestId: string | number) {
  ws.send({ action, request_id: requestId, data });
  return ws.reply(requestId);
}

const isStateChange = (f: any) => f?.event === "state_change";

async function personSocket(key: string) {
  return connect(`/ws/persons/${key}`, await tokenFor(key));
}

describe("person room: admission", () => {
  it("admits the person themself, state.observe and admin; refuses others before the upgrade", async () => {
    const { key } = await seedPerson();
    (await personSocket(key)).close();
    (await connect(`/ws/persons/${key}`, await tokenFor("watcher", ["state.observe"]))).close();
    (await connect(`/ws/persons/${key}`, ADMIN)).close();

    const stranger = (await tryConnect(`/ws/persons/${key}`, await tokenFor("other"))) as Response;
    expect(stranger.status).toBe(403);
    expect((await stranger.json<any>()).error.code).toBe("forbidden");
    expect(((await tryConnect(`/ws/persons/${key}`)) as Response).status).toBe(401);
  });

  it("answers 404 before the upgrade for an unknown person", async () => {
    const key = `nobody-${crypto.randomUUID()}`;
    const res = (await tryConnect(`/ws/persons/${key}`, await tokenFor(key))) as Response;
    expect(res.status).toBe(404);
    expect((await res.json<any>()).error.code).toBe("not_found");
  });
});

describe("person room: subscribing", () => {
  it("answers a valid flow subscription with status 200 and exactly the contract's shape", async () => {
    const { key, flow } = await seedPerson();
    const ws = await personSocket(key);
    const reply = await act(
      ws,
      "subscribe_state_change",
      { person_key: key, entity: "flow" },
      1519211809934,
    );
    expect(reply).toStrictEqual({
      request_id: 1519211809934,
      errors: [],
      status: 200,
      data: { current: [{ id: flow.id, identifier: "onboarding", state: "inactive" }] },
    });
    ws.close();
  });

  it("lists the person's steps in `current` for a step subscription, as they are now", async () => {
    const { key, flow, step } = await seedPerson();
    const second = await call("POST", `/api/flows/${flow.id}/steps`, {
      token: ADMIN,
      body: { identifier: "profile", state: "inactive" },
    });
    expect((await setStep(step.id, "active")).status).toBe(200);
    const ws = await personSocket(key);
    const reply = await act(
      ws,
      "subscribe_state_change",
      { person_key: key, entity: "step" },
      "s1",
    );
    expect(reply.data.current).toStrictEqual([
      { id: step.id, identifier: "welcome", state: "active" },
      { id: second.body.id, identifier: "profile", state: "inactive" },
    ]);
    ws.close();
  });

  it("refuses an entity other than flow/step with 400 naming `entity`, and subscribes nothing", async () => {
    const { key, flow } = await seedPerson();
    const ws = await personSocket(key);
    const reply = await act(ws, "subscribe_state_change", { person_key: key, entity: "person" }, 7);
    expect(reply.status).toBe(400);
    expect(reply.request_id).toBe(7);
    expect(reply.errors).toHaveLength(1);
    expect(reply.errors[0]).toMatch(/^entity: /);
    await setFlow(flow.id, "active");
    await ws.nothing(isStateChange);
    expect(ws.closed).toBeNull();
    ws.close();
  });

  it("answers 404 for an unknown person_key or one that is not the socket's person", async () => {
    const { key } = await seedPerson();
    const other = await seedPerson();
    const ws = await connect(`/ws/persons/${key}`, await tokenFor("watcher", ["state.observe"]));
    const unknown = await act(
      ws,
      "subscribe_state_change",
      { person_key: "nobody", entity: "flow" },
      1,
    );
    expect(unknown).toMatchObject({ request_id: 1, status: 404 });
    const foreign = await act(
      ws,
      "subscribe_state_change",
      { person_key: other.key, entity: "flow" },
      2,
    );
    expect(foreign).toMatchObject({ request_id: 2, status: 404 });
    await setFlow(other.flow.id, "active");
    await ws.nothing(isStateChange);
    ws.close();
  });

  it("answers 400 naming the missing data fields", async () => {
    const { key } = await seedPerson();
    const ws = await personSocket(key);
    const noEntity = await act(ws, "subscribe_state_change", { person_key: key }, 1);
    expect(noEntity.status).toBe(400);
    expect(noEntity.errors.some((e: string) => e.startsWith("entity: "))).toBe(true);
    const noKey = await act(ws, "subscribe_state_change", { entity: "flow" }, 2);
    expect(noKey.status).toBe(400);
    expect(noKey.errors).toEqual(["person_key: is required"]);
    ws.send({ action: "subscribe_state_change", request_id: 3 });
    const noData = await ws.reply(3);
    expect(noData.status).toBe(400);
    expect(noData.errors[0]).toMatch(/^data: /);
    const unsub = await act(
      ws,
      "unsubscribe_state_change",
      { person_key: key, entity: "flows" },
      4,
    );
    expect(unsub.status).toBe(400);
    expect(
      (await act(ws, "subscribe_state_change", { person_key: key, entity: "flow" }, 5)).status,
    ).toBe(200);
    ws.close();
  });
});

describe("person room: state_change events", () => {
  it("sends exactly one event per flow and step change, even after subscribing three times", async () => {
    const { key, flow, step } = await seedPerson();
    const ws = await personSocket(key);
    for (const rid of [1, 2, 3]) {
      expect(
        (await act(ws, "subscribe_state_change", { person_key: key, entity: "flow" }, rid)).status,
      ).toBe(200);
    }
    expect(
      (await act(ws, "subscribe_state_change", { person_key: key, entity: "step" }, "steps"))
        .status,
    ).toBe(200);

    expect((await setFlow(flow.id, "active")).status).toBe(200);
    expect(await ws.event("state_change")).toStrictEqual({
      event: "state_change",
      request_id: 3,
      data: {
        entity: "flow",
        id: flow.id,
        identifier: "onboarding",
        state: "active",
        previous_state: "inactive",
      },
    });
    expect((await setStep(step.id, "completed")).status).toBe(200);
    expect(await ws.event("state_change")).toStrictEqual({
      event: "state_change",
      request_id: "steps",
      data: {
        entity: "step",
        id: step.id,
        identifier: "welcome",
        state: "completed",
        previous_state: "inactive",
      },
    });
    await ws.nothing(isStateChange);
    ws.close();
  });

  it("sends nothing when a state is set to the value it already has", async () => {
    const { key, flow, step } = await seedPerson();
    const ws = await personSocket(key);
    await act(ws, "subscribe_state_change", { person_key: key, entity: "flow" }, 1);
    await act(ws, "subscribe_state_change", { person_key: key, entity: "step" }, 2);
    expect((await setFlow(flow.id, "inactive")).status).toBe(200);
    expect((await setStep(step.id, "inactive")).status).toBe(200);
    await ws.nothing(isStateChange);
    ws.close();
  });

  it("stops sending after unsubscribe_state_change, which answers 200 and is idempotent", async () => {
    const { key, flow, step } = await seedPerson();
    const ws = await personSocket(key);
    await act(ws, "subscribe_state_change", { person_key: key, entity: "flow" }, 1);
    await act(ws, "subscribe_state_change", { person_key: key, entity: "step" }, 2);
    const unsub = await act(ws, "unsubscribe_state_change", { person_key: key, entity: "flow" }, 3);
    expect(unsub).toStrictEqual({ request_id: 3, status: 200, errors: [] });
    expect(
      (await act(ws, "unsubscribe_state_change", { person_key: key, entity: "flow" }, 4)).status,
    ).toBe(200);
    await setFlow(flow.id, "active");
    await setStep(step.id, "active");
    // the step subscription stays; only the flow one is gone
    expect((await ws.event("state_change")).data).toMatchObject({ entity: "step", id: step.id });
    await ws.nothing(isStateChange);
    ws.close();
  });

  it("gives two sockets of one person only the entity each subscribed to", async () => {
    const { key, flow, step } = await seedPerson();
    const flows = await personSocket(key);
    const steps = await connect(`/ws/persons/${key}`, await tokenFor("watcher", ["state.observe"]));
    await act(flows, "subscribe_state_change", { person_key: key, entity: "flow" }, "f");
    await act(steps, "subscribe_state_change", { person_key: key, entity: "step" }, "s");
    await setFlow(flow.id, "exited");
    await setStep(step.id, "active");
    expect(await flows.event("state_change")).toMatchObject({
      request_id: "f",
      data: { entity: "flow" },
    });
    expect(await steps.event("state_change")).toMatchObject({
      request_id: "s",
      data: { entity: "step" },
    });
    await flows.nothing(isStateChange);
    await steps.nothing(isStateChange, 0);
    flows.close();
    steps.close();
  });

  it("does not send one person's changes to another person's subscribers", async () => {
    const a = await seedPerson();
    const b = await seedPerson();
    const ws = await personSocket(a.key);
    await act(ws, "subscribe_state_change", { person_key: a.key, entity: "flow" }, 1);
    await setFlow(b.flow.id, "active");
    await ws.nothing(isStateChange);
    ws.close();
  });

  it("omits request_id on events of a subscription made without one", async () => {
    const { key, flow } = await seedPerson();
    const ws = await personSocket(key);
    ws.send({ action: "subscribe_state_change", data: { person_key: key, entity: "flow" } });
    // a later frame with a request id proves the first one was handled (frames run in order)
    await act(ws, "subscribe_state_change", { person_key: key, entity: "step" }, "later");
    await setFlow(flow.id, "active");
    const event = await ws.event("state_change");
    expect(event).toStrictEqual({
      event: "state_change",
      data: expect.objectContaining({ entity: "flow", state: "active" }),
    });
    ws.close();
  });
});

describe("person room: resume", () => {
  it("answers a ?since= resume with resync carrying the person's flows and steps", async () => {
    const { key, flow, step } = await seedPerson();
    const ws = await connect(`/ws/persons/${key}?since=5`, await tokenFor(key));
    expect((await ws.event("resync")).data).toStrictEqual({
      flows: [{ id: flow.id, identifier: "onboarding", state: "inactive" }],
      steps: [{ id: step.id, identifier: "welcome", state: "inactive" }],
    });
    ws.close();
  });
});

describe("person room: durability of subscriptions", () => {
  it("keeps subscriptions in the socket attachment: a rebuilt object with no memory still delivers", async () => {
    const { key, flow } = await seedPerson();
    const ws = await personSocket(key);
    await act(ws, "subscribe_state_change", { person_key: key, entity: "flow" }, 42);
    const stub = personRoom(env, key);
    const attachments = await runInDurableObject(stub, (_room, state) =>
      state.getWebSockets().map((s) => s.deserializeAttachment()),
    );
    expect(attachments.map((a: any) => a.state.subscriptions)).toEqual([{ flow: 42 }]);

    // What wakes after hibernation: a new instance of the class over the same storage and sockets.
    await runInDurableObject(stub, async (_room, state) => {
      const rebuilt = new PersonRoom(state, env);
      expect(await rebuilt.changeFlowState(key, flow.id, "active")).toMatchObject({ ok: true });
    });
    expect(await ws.event("state_change")).toMatchObject({ request_id: 42, data: { id: flow.id } });
    ws.close();
  });

  it("delivers again after the Durable Object was evicted and rebuilt", async () => {
    const { key, flow } = await seedPerson();
    const before = await personSocket(key);
    await act(before, "subscribe_state_change", { person_key: key, entity: "flow" }, 1);
    await abortAllDurableObjects();
    await before.waitClosed();

    // Changes made while nobody is connected wake the room harmlessly.
    expect((await setFlow(flow.id, "active")).status).toBe(200);
    const after = await personSocket(key);
    const reply = await act(
      after,
      "subscribe_state_change",
      { person_key: key, entity: "flow" },
      2,
    );
    expect(reply.data.current).toEqual([
      { id: flow.id, identifier: "onboarding", state: "active" },
    ]);
    await setFlow(flow.id, "completed");
    expect(await after.event("state_change")).toMatchObject({
      request_id: 2,
      data: { state: "completed", previous_state: "active" },
    });
    after.close();
  });
});
