import { abortAllDurableObjects, env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { PostMessageInput } from "../../../src/features/threads/inputs";
import { messageCreatedUuid } from "../../../src/features/threads/message-created";
import type { MessageEventData } from "../../../src/features/threads/message-event";
import type { Announced } from "../../../src/features/threads/service";
import { call } from "../../helpers/http";
import { createThread, messageEvent, type Party, party, postOk } from "../../helpers/threads";
import { connect, type TestSocket } from "../../helpers/ws";

/**
 * A new message is stored in D1 before its event enters the room's stream; an eviction between
 * the two must not leave it unpublished. The cut is made inside the room: its fan-out throws
 * where the runtime would have reset the object, after the real D1 write.
 */

interface RoomUnderTest {
  postMessage(
    threadId: string,
    caller: unknown,
    input: PostMessageInput,
    key: string | null,
  ): Promise<unknown>;
  publishMessageEvent(data: MessageEventData, announced: Announced): void;
}

/** The room's stub, untyped: the typed one makes runInDurableObject's inference too deep. */
function roomStub(threadId: string): DurableObjectStub {
  return env.THREAD_ROOM.get(env.THREAD_ROOM.idFromName(threadId));
}

/** Posts `text` through the room; the room fails between storing it and publishing it. */
async function postCut(threadId: string, poster: Party, text: string): Promise<void> {
  await runInDurableObject(roomStub(threadId), async (instance: unknown) => {
    const room = instance as RoomUnderTest;
    room.publishMessageEvent = () => {
      throw new Error("reset between the D1 write and the publish");
    };
    const caller = { kind: "user", user: { id: poster.id, name: poster.id }, permissions: [] };
    await expect(
      room.postMessage(threadId, caller, PostMessageInput.parse({ text }), null),
    ).rejects.toThrow("reset between");
    // The room's own method again, as a woken object would have it.
    delete (room as Partial<RoomUnderTest>).publishMessageEvent;
  });
}

/** Ids of the stored messages, oldest first. */
async function storedIds(threadId: string, token: string): Promise<number[]> {
  const res = await call("GET", `/api/threads/${threadId}/messages?limit=200`, { token });
  expect(res.status).toBe(200);
  return res.body.results.map((m: { id: number }) => m.id).reverse();
}

/** `[seq, message id]` of every message event the socket got, up to the one for `lastId`. */
async function streamUntil(ws: TestSocket, lastId: number): Promise<[number, number][]> {
  const last = await messageEvent(ws, lastId);
  return [...ws.frames.filter((f) => typeof f?.seq === "number"), last].map((f) => [
    f.seq,
    f.data.message.id,
  ]);
}

async function thread() {
  const ada = await party("ada");
  const bob = await party("bob");
  const id = await createThread(ada, [{ user_id: bob.id }]);
  return { ada, bob, id };
}

describe("threads: a message whose publish was cut off", () => {
  it("is published once, in stored order, when the evicted room runs again", async () => {
    const { ada, bob, id } = await thread();
    const watching = await connect(`/ws/threads/${id}?since=0`, bob.token);
    const first = await postOk(ada.token, id, "first");
    expect((await messageEvent(watching, first.id)).seq).toBe(1);

    await postCut(id, ada, "cut off");
    const [, cut] = await storedIds(id, ada.token);
    await abortAllDurableObjects();
    await watching.waitClosed();

    // Joining the woken room publishes it before the replay, with no other post needed.
    const back = await connect(`/ws/threads/${id}?since=1`, bob.token);
    expect((await messageEvent(back, cut!)).seq).toBe(2);
    const third = await postOk(ada.token, id, "third");
    expect((await messageEvent(back, third.id)).seq).toBe(3);
    back.close();

    const fresh = await connect(`/ws/threads/${id}?since=0`, bob.token);
    expect(await streamUntil(fresh, third.id)).toEqual([
      [1, first.id],
      [2, cut],
      [3, third.id],
    ]);
    fresh.close();
    expect(await storedIds(id, ada.token)).toEqual([first.id, cut, third.id]);
    const uuid = messageCreatedUuid(cut!);
    const events = await env.DB.prepare("SELECT count(*) AS n FROM webhook_events WHERE uuid = ?")
      .bind(uuid)
      .first<{ n: number }>();
    expect(events?.n).toBe(1);
  });

  it("goes out before the next message when the room was not evicted", async () => {
    const { ada, bob, id } = await thread();
    const watching = await connect(`/ws/threads/${id}?since=0`, bob.token);
    await postCut(id, ada, "cut off");
    const [cut] = await storedIds(id, ada.token);
    const next = await postOk(ada.token, id, "next");
    expect(await streamUntil(watching, next.id)).toEqual([
      [1, cut],
      [2, next.id],
    ]);
    watching.close();
  });

  it("never publishes a message the stream already holds", async () => {
    const { ada, bob, id } = await thread();
    const posted = await postOk(ada.token, id, "once");
    await runInDurableObject(roomStub(id), (instance: unknown, state) => {
      const head = () =>
        state.storage.sql.exec<{ seq: number }>("SELECT max(seq) AS seq FROM room_events").one()
          .seq;
      const stored = state.storage.sql
        .exec<{ data: string }>("SELECT data FROM room_events ORDER BY seq DESC LIMIT 1")
        .one();
      const before = head();
      (instance as RoomUnderTest).publishMessageEvent(JSON.parse(stored.data), {
        message: posted.id,
      });
      expect(head()).toBe(before);
    });
    const fresh = await connect(`/ws/threads/${id}?since=0`, bob.token);
    expect(await streamUntil(fresh, posted.id)).toEqual([[1, posted.id]]);
    fresh.close();
  });

  it("does not replay the history of a room that predates the record", async () => {
    const { ada, bob, id } = await thread();
    await postOk(ada.token, id, "old one");
    const old = await postOk(ada.token, id, "old two");
    await runInDurableObject(roomStub(id), (_instance: unknown, state) => {
      state.storage.sql.exec("DELETE FROM room_meta WHERE key = 'published_message_id'");
    });
    await abortAllDurableObjects();

    const back = await connect(`/ws/threads/${id}?since=2`, bob.token);
    const after = await postOk(ada.token, id, "after");
    expect(await streamUntil(back, after.id)).toEqual([[3, after.id]]);
    back.close();
    expect(await storedIds(id, ada.token)).toEqual([old.id - 1, old.id, after.id]);
  });
});
