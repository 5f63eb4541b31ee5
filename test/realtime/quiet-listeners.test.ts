import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { busStub } from "../../src/features/bus/bus-channel";
import { personRoom } from "../../src/features/state/person-room";
import { threadRoom } from "../../src/features/threads/thread-room";
import { newDb, publish } from "../helpers/bus";
import { ADMIN, call, tokenFor } from "../helpers/http";
import { createThread, messageEvent, party, postOk, threadSocket } from "../helpers/threads";
import { connect, type TestSocket } from "../helpers/ws";

/**
 * Sockets that only listen (bus, threads, state subscriptions) stay open however long they are
 * silent; only poker, which shows who is present, drops silent sockets (poker-lifecycle).
 */

interface MemberAccess {
  memberOf(ws: WebSocket): { lastSeen: number };
  saveMember(ws: WebSocket, member: object): void;
}

/** Makes every socket of the room look silent for ten minutes, then runs its alarm if it has one. */
async function silenceAndSweep(stub: DurableObjectStub): Promise<void> {
  await runInDurableObject(stub, (instance: unknown, state) => {
    const members = instance as MemberAccess;
    for (const ws of state.getWebSockets()) {
      members.saveMember(ws, { ...members.memberOf(ws), lastSeen: Date.now() - 600_000 });
    }
  });
  await runDurableObjectAlarm(stub);
}

async function expectOpen(ws: TestSocket): Promise<void> {
  await ws.nothing(() => false, 100);
  expect(ws.closed).toBeNull();
}

describe("quiet listeners are kept", () => {
  it("a bus socket silent for ten minutes still gets the next message", async () => {
    const db = newDb();
    await publish(db, "orders", { type: "first" }); // sets the bus's retention alarm
    const ws = await connect(
      `/ws/bus/${db}?channels=orders`,
      await tokenFor("u1", ["bus.listen:*"]),
    );
    await silenceAndSweep(busStub(env, db) as unknown as DurableObjectStub);
    await expectOpen(ws);
    await publish(db, "orders", { type: "second" });
    expect((await ws.event("message")).data.message.type).toBe("second");
    ws.close();
  });

  it("a thread member's socket silent for ten minutes still gets the next message", async () => {
    const ada = await party("ada");
    const thread = await createThread(ada);
    const ws = await threadSocket(thread, ada.token);
    await silenceAndSweep(threadRoom(env, thread) as unknown as DurableObjectStub);
    await expectOpen(ws);
    const message = await postOk(ada.token, thread, "still listening");
    await messageEvent(ws, message.id);
    ws.close();
  });

  it("a state subscription silent for ten minutes still gets the next change", async () => {
    const key = `p-${crypto.randomUUID()}`;
    await call("POST", "/api/persons", { token: ADMIN, body: { key, name: "Ada" } });
    const flow = await call("POST", `/api/persons/${key}/flows`, {
      token: ADMIN,
      body: { identifier: "onboarding", state: "inactive" },
    });
    const ws = await connect(`/ws/persons/${key}`, await tokenFor(key));
    ws.send({
      action: "subscribe_state_change",
      request_id: 1,
      data: { person_key: key, entity: "flow" },
    });
    expect((await ws.reply(1)).status).toBe(200);
    await silenceAndSweep(personRoom(env, key) as unknown as DurableObjectStub);
    await expectOpen(ws);
    await call("PATCH", `/api/flows/${flow.body.id}`, { token: ADMIN, body: { state: "active" } });
    expect((await ws.event("state_change")).data).toMatchObject({ state: "active" });
    ws.close();
  });
});
