import { abortAllDurableObjects, env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { EditMessageInput } from "../../../src/features/threads/inputs";
import type { MessageEventData } from "../../../src/features/threads/message-event";
import type { Announced } from "../../../src/features/threads/service";
import { ADMIN, call } from "../../helpers/http";
import {
  createThread,
  messageEvent,
  myThread,
  type Party,
  party,
  postOk,
} from "../../helpers/threads";
import { connect, type TestSocket } from "../../helpers/ws";

/**
 * An edit or delete is stored in D1 before its `message_created_or_updated` event enters the
 * room's stream; an eviction between the two must not leave it unsent. The cut is made inside
 * the room, as in threads-replay.test.ts: its fan-out throws where the runtime would have reset
 * the object, after the real D1 write.
 */

interface RoomUnderTest {
  editMessage(threadId: string, caller: unknown, id: number, input: unknown): Promise<unknown>;
  deleteMessage(threadId: string, caller: unknown, id: number): Promise<unknown>;
  publishMessageEvent(data: MessageEventData, announced: Announced): void;
}

/** The room's stub, untyped: the typed one makes runInDurableObject's inference too deep. */
function roomStub(threadId: string): DurableObjectStub {
  return env.THREAD_ROOM.get(env.THREAD_ROOM.idFromName(threadId));
}

/** Runs `change` in the room as `actor`; the room fails between storing it and publishing it. */
async function changeCut(
  threadId: string,
  actor: Party,
  change: (room: RoomUnderTest, caller: unknown) => Promise<unknown>,
): Promise<void> {
  await runInDurableObject(roomStub(threadId), async (instance: unknown) => {
    const room = instance as RoomUnderTest;
    room.publishMessageEvent = () => {
      throw new Error("reset between the D1 write and the publish");
    };
    const caller = { kind: "user", user: { id: actor.id, name: actor.id }, permissions: [] };
    await expect(change(room, caller)).rejects.toThrow("reset between");
    // The room's own method again, as a woken object would have it.
    delete (room as Partial<RoomUnderTest>).publishMessageEvent;
  });
}

const deleteCut = (threadId: string, actor: Party, id: number) =>
  changeCut(threadId, actor, (room, caller) => room.deleteMessage(threadId, caller, id));

const editCut = (threadId: string, actor: Party, id: number, text: string) =>
  changeCut(threadId, actor, (room, caller) =>
    room.editMessage(threadId, caller, id, EditMessageInput.parse({ text })),
  );

/** One frame of the stream: `[seq, message id, deleted or text]`. */
type Streamed = [number, number, string];

function streamed(frame: any): Streamed {
  const { message } = frame.data;
  return [frame.seq, message.id, message.deleted ? "deleted" : message.text];
}

/** Every stream frame the socket got, up to the one numbered `head`. */
async function streamUntil(ws: TestSocket, head: number): Promise<Streamed[]> {
  const last = await ws.next((f) => f?.seq === head, `seq ${head}`);
  return [...ws.frames.filter((f) => typeof f?.seq === "number"), last].map(streamed);
}

/** A thread where ada (the poster) may edit and delete her messages; bob watches. */
async function thread() {
  const ada = await party("ada");
  const bob = await party("bob");
  const permissions = ["messages_read", "messages_create", "messages_edit", "messages_delete"];
  const id = await createThread("admin", [
    { user_id: ada.id, permissions: [...permissions, "thread_read"] },
    { user_id: bob.id },
  ]);
  return { ada, bob, id };
}

describe("threads: an edit or delete whose publish was cut off", () => {
  it("publishes a delete once, in order, when the evicted room runs again", async () => {
    const { ada, bob, id } = await thread();
    const watching = await connect(`/ws/threads/${id}?since=0`, bob.token);
    const first = await postOk(ada.token, id, "first");
    const second = await postOk(ada.token, id, "second");
    await messageEvent(watching, second.id);

    await deleteCut(id, ada, second.id);
    // Stored: gone from the list, bob's last message moved back, a retried DELETE finds nothing.
    const listed = await call("GET", `/api/threads/${id}/messages`, { token: bob.token });
    expect(listed.body.results.map((m: { id: number }) => m.id)).toEqual([first.id]);
    expect((await myThread(bob.token, id)).last_message_data.id).toBe(first.id);
    const retried = await call("DELETE", `/api/threads/${id}/messages/${second.id}`, {
      token: ada.token,
    });
    expect(retried.status).toBe(404);
    await abortAllDurableObjects();
    await watching.waitClosed();

    // Joining the woken room publishes it before the replay, with no other change needed.
    const back = await connect(`/ws/threads/${id}?since=2`, bob.token);
    const deleted = await messageEvent(back, second.id);
    expect(deleted.seq).toBe(3);
    expect(deleted.data.message).toEqual({ id: second.id, thread: id, deleted: true });
    expect(deleted.data.user_thread.last_message_data.id).toBe(first.id);
    const third = await postOk(ada.token, id, "third");
    expect((await messageEvent(back, third.id)).seq).toBe(4);
    back.close();

    const fresh = await connect(`/ws/threads/${id}?since=0`, bob.token);
    expect(await streamUntil(fresh, 4)).toEqual([
      [1, first.id, "first"],
      [2, second.id, "second"],
      [3, second.id, "deleted"],
      [4, third.id, "third"],
    ]);
    fresh.close();
  });

  it("publishes a delete before the next event when the room was not evicted", async () => {
    const { ada, bob, id } = await thread();
    const first = await postOk(ada.token, id, "first");
    const watching = await connect(`/ws/threads/${id}?since=1`, bob.token);
    await deleteCut(id, ada, first.id);
    const next = await postOk(ada.token, id, "next");
    expect(await streamUntil(watching, 3)).toEqual([
      [2, first.id, "deleted"],
      [3, next.id, "next"],
    ]);
    watching.close();
  });

  it("publishes an edit once, in order, when the evicted room runs again", async () => {
    const { ada, bob, id } = await thread();
    const first = await postOk(ada.token, id, "first");
    const second = await postOk(ada.token, id, "second");
    await editCut(id, ada, first.id, "first, edited");
    await abortAllDurableObjects();

    const back = await connect(`/ws/threads/${id}?since=2`, bob.token);
    const edited = await messageEvent(back, first.id);
    expect([edited.seq, edited.data.message.text]).toEqual([3, "first, edited"]);
    const edit = await call("PATCH", `/api/threads/${id}/messages/${second.id}`, {
      token: ada.token,
      body: { text: "second, edited" },
    });
    expect(edit.status).toBe(200);
    expect((await messageEvent(back, second.id)).seq).toBe(4);
    back.close();

    const fresh = await connect(`/ws/threads/${id}?since=0`, bob.token);
    expect(await streamUntil(fresh, 4)).toEqual([
      [1, first.id, "first"],
      [2, second.id, "second"],
      [3, first.id, "first, edited"],
      [4, second.id, "second, edited"],
    ]);
    fresh.close();
  });

  it("never publishes a change the stream already holds", async () => {
    const { ada, bob, id } = await thread();
    const posted = await postOk(ada.token, id, "once");
    const removed = await call("DELETE", `/api/threads/${id}/messages/${posted.id}`, {
      token: ada.token,
    });
    expect(removed.status).toBe(204);
    await runInDurableObject(roomStub(id), (instance: unknown, state) => {
      const sql = state.storage.sql;
      const head = () =>
        sql.exec<{ seq: number }>("SELECT max(seq) AS seq FROM room_events").one().seq;
      const stored = sql
        .exec<{ data: string }>("SELECT data FROM room_events ORDER BY seq DESC LIMIT 1")
        .one();
      const recorded = sql
        .exec<{ value: string }>("SELECT value FROM room_meta WHERE key = 'published_change_id'")
        .one();
      const before = head();
      (instance as RoomUnderTest).publishMessageEvent(JSON.parse(stored.data), {
        change: Number(recorded.value),
      });
      expect(head()).toBe(before);
    });
    await abortAllDurableObjects();
    const fresh = await connect(`/ws/threads/${id}?since=0`, bob.token);
    const next = await postOk(ada.token, id, "next");
    expect(await streamUntil(fresh, 3)).toEqual([
      [1, posted.id, "once"],
      [2, posted.id, "deleted"],
      [3, next.id, "next"],
    ]);
    fresh.close();
  });

  it("does not replay the changes of a room that predates the change record", async () => {
    const { ada, bob, id } = await thread();
    const posted = await postOk(ada.token, id, "old");
    const removed = await call("DELETE", `/api/threads/${id}/messages/${posted.id}`, {
      token: ADMIN,
    });
    expect(removed.status).toBe(204);
    await runInDurableObject(roomStub(id), (_instance: unknown, state) => {
      state.storage.sql.exec("DELETE FROM room_meta WHERE key = 'published_change_id'");
    });
    await abortAllDurableObjects();

    const back = await connect(`/ws/threads/${id}?since=2`, bob.token);
    const after = await postOk(ada.token, id, "after");
    expect(await streamUntil(back, 3)).toEqual([[3, after.id, "after"]]);
    back.close();
  });
});
