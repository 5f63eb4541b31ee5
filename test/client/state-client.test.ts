import { abortAllDurableObjects, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { WebSocketLike } from "../../src/client/room-client";
import {
  type StateChange,
  type StateEntity,
  type StateInstance,
  subscribeStateChanges,
} from "../../src/client/state";
import { StateClient } from "../../src/client/state-client";
import { ADMIN, BASE, call, tokenFor } from "../helpers/http";

/** Opens sockets through the real Worker (workerd cannot dial its own test worker by URL). */
async function viaWorker(url: string): Promise<WebSocketLike> {
  const res = await SELF.fetch(url.replace(/^ws/, "http"), { headers: { Upgrade: "websocket" } });
  if (!res.webSocket) throw new Error(`upgrade refused: ${res.status}`);
  res.webSocket.accept();
  return res.webSocket as unknown as WebSocketLike;
}

function waitFor(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs)
        return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

async function seedPerson() {
  const key = `p-${crypto.randomUUID()}`;
  await call("POST", "/api/persons", { token: ADMIN, body: { key, name: "Ada" } });
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

const patch = (path: string, state: string) =>
  call("PATCH", path, { token: ADMIN, body: { state } });

/** `gate` holds back the token, and so every (re)connection, while a test needs it to. */
async function watch(key: string, entity: StateEntity, gate = { open: Promise.resolve() }) {
  const token = await tokenFor(key);
  const changes: StateChange[] = [];
  const currents: StateInstance[][] = [];
  const sub = subscribeStateChanges(key, entity, (c) => changes.push(c), {
    baseUrl: BASE,
    token: async () => {
      await gate.open;
      return token;
    },
    connect: viaWorker,
    backoffBaseMs: 50,
    onCurrent: (c) => currents.push(c),
  });
  return { sub, changes, currents };
}

describe("SDK: subscribeStateChanges", () => {
  it("resolves with the current flows and calls the handler for flow changes only", async () => {
    const { key, flow, step } = await seedPerson();
    const { sub, changes } = await watch(key, "flow");
    expect(await sub.ready).toEqual([{ id: flow.id, identifier: "onboarding", state: "inactive" }]);
    await patch(`/api/steps/${step.id}`, "active");
    await patch(`/api/flows/${flow.id}`, "active");
    await waitFor(() => changes.length === 1, "the flow change");
    expect(changes).toEqual([
      {
        entity: "flow",
        id: flow.id,
        identifier: "onboarding",
        state: "active",
        previous_state: "inactive",
      },
    ]);
    await sub.close();
    expect(sub.client.state).toBe("closed");
  });

  it("subscribes again after a reconnect and reports the state it missed through onCurrent", async () => {
    const { key, flow } = await seedPerson();
    const gate = { open: Promise.resolve() };
    const { sub, changes, currents } = await watch(key, "flow", gate);
    await sub.ready;
    let release = () => {};
    gate.open = new Promise<void>((r) => {
      release = r;
    });
    await abortAllDurableObjects();
    // Changed while the client is away: no event can reach it, the resubscription must tell.
    await patch(`/api/flows/${flow.id}`, "active");
    release();
    await waitFor(() => currents.length === 2, "the second subscription");
    expect(currents[1]).toEqual([{ id: flow.id, identifier: "onboarding", state: "active" }]);
    await patch(`/api/flows/${flow.id}`, "completed");
    await waitFor(() => changes.length === 1, "the change after the reconnect");
    expect(changes[0]).toMatchObject({ state: "completed", previous_state: "active" });
    await sub.close();
  });

  it("stops calling the handler after close", async () => {
    const { key, step } = await seedPerson();
    const shared = await watch(key, "step");
    await shared.sub.ready;
    await shared.sub.close();
    const again = await watch(key, "step");
    await again.sub.ready;
    await patch(`/api/steps/${step.id}`, "completed");
    await waitFor(() => again.changes.length === 1, "the step change");
    expect(shared.changes).toEqual([]);
    await again.sub.close();
  });

  it("rejects `ready` when the subscription is refused", async () => {
    const { key } = await seedPerson();
    const { sub } = await watch(key, "person" as StateEntity);
    await expect(sub.ready).rejects.toThrow(/400.*entity/);
    await sub.close();
  });
});

describe("SDK: StateClient", () => {
  it("watches flows and steps of one person on one socket", async () => {
    const { key, flow, step } = await seedPerson();
    const token = await tokenFor(key);
    const client = new StateClient({
      baseUrl: BASE,
      personKey: key,
      token: () => token,
      connect: viaWorker,
    });
    const changes: StateChange[] = [];
    const flows = client.subscribe("flow", (c) => changes.push(c));
    const steps = client.subscribe("step", (c) => changes.push(c));
    expect(await flows.ready).toEqual([
      { id: flow.id, identifier: "onboarding", state: "inactive" },
    ]);
    expect(await steps.ready).toEqual([{ id: step.id, identifier: "welcome", state: "inactive" }]);
    expect(flows.client).toBe(client.room);
    await patch(`/api/steps/${step.id}`, "active");
    await patch(`/api/flows/${flow.id}`, "active");
    await waitFor(() => changes.length === 2, "both changes");
    expect(changes.map((c) => [c.entity, c.state])).toEqual([
      ["step", "active"],
      ["flow", "active"],
    ]);
    client.close();
    expect(client.room.state).toBe("closed");
  });
});
