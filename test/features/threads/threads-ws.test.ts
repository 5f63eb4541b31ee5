import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN, call } from "../../helpers/http";
import {
  createThread,
  messageEvent,
  myThread,
  party,
  postOk,
  threadSocket,
} from "../../helpers/threads";
import { tryConnect } from "../../helpers/ws";

describe("thread room: live messages", () => {
  it("sends each member the message with its own user_thread and unread count", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const cy = await party("cy");
    const id = await createThread(ada, [{ user_id: bob.id }, { user_id: cy.id }]);
    const [wa, wb, wc] = await Promise.all([
      threadSocket(id, ada.token),
      threadSocket(id, bob.token),
      threadSocket(id, cy.token),
    ]);

    const first = await postOk(ada.token, id, "one");
    const second = await postOk(ada.token, id, "two");
    expect(first.is_own).toBe(true);
    expect(first.user_thread.unread_count).toBe(0);

    const atAda = await messageEvent(wa, second.id);
    expect(atAda.seq).toBeTypeOf("number");
    expect(atAda.data.message).toMatchObject({ text: "two", is_own: true, is_read: true });
    expect(atAda.data.user_thread).toMatchObject({ id, unread_count: 0, user_id: ada.id });

    const atBob = await messageEvent(wb, second.id);
    expect(atBob.data.message).toMatchObject({ text: "two", is_own: false, is_read: false });
    expect(atBob.data.user_thread).toMatchObject({ unread_count: 2, user_id: bob.id });
    expect(atBob.data.user_thread.last_message_data.id).toBe(second.id);

    // Bob reads over REST; Cy over the socket: counts fall independently.
    const listed = await call("GET", `/api/threads/${id}/messages`, { token: bob.token });
    expect(listed.body.results.map((m: any) => [m.text, m.is_read])).toEqual([
      ["two", false],
      ["one", false],
    ]);
    const again = await call("GET", `/api/threads/${id}/messages`, { token: bob.token });
    expect(again.body.results.every((m: any) => m.is_read)).toBe(true);
    expect((await myThread(bob.token, id)).unread_count).toBe(0);

    const read = await wc.request("mark_message_as_read", { message: first.id });
    expect(read).toMatchObject({ status: 200, data: { message: first.id, unread_count: 1 } });
    expect((await myThread(cy.token, id)).unread_count).toBe(1);

    const third = await postOk(bob.token, id, "three");
    expect((await messageEvent(wc, third.id)).data.user_thread.unread_count).toBe(2);
    expect((await messageEvent(wb, third.id)).data.user_thread.unread_count).toBe(0);
    for (const ws of [wa, wb, wc]) ws.close();
  });

  it("relays typing to the others, never back to the writer; observers may not type", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread(ada, [{ user_id: bob.id }]);
    const [wa, wa2, wb] = await Promise.all([
      threadSocket(id, ada.token),
      threadSocket(id, ada.token),
      threadSocket(id, bob.token),
    ]);
    wa.send({ event: "thread_someone_is_writing", data: { length: 1200 } });
    const typing = await wb.event("thread_someone_is_writing");
    expect(typing).toEqual({
      event: "thread_someone_is_writing",
      data: { thread: id, user: { id: ada.id, name: "ada name" }, length: 1200 },
    });
    await wa.nothing((f) => f?.event === "thread_someone_is_writing");
    await wa2.nothing((f) => f?.event === "thread_someone_is_writing");

    const bad = await wb.request("thread_someone_is_writing", { length: "long" });
    expect(bad.status).toBe(400);
    for (const ws of [wa, wa2, wb]) ws.close();
  });

  it("sends a deleted message as {id, thread, deleted} and lowers unread counts", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread(ada, [{ user_id: bob.id }]);
    const wb = await threadSocket(id, bob.token);
    const kept = await postOk(ada.token, id, "kept");
    const gone = await postOk(ada.token, id, "gone");
    await messageEvent(wb, gone.id);
    expect((await myThread(bob.token, id)).unread_count).toBe(2);

    const del = await call("DELETE", `/api/threads/${id}/messages/${gone.id}`, {
      token: ada.token,
    });
    expect(del.status).toBe(204);
    const event = await messageEvent(wb, gone.id);
    expect(event.data.message).toEqual({ id: gone.id, thread: id, deleted: true });
    expect(event.data.user_thread.unread_count).toBe(1);
    expect(event.data.user_thread.last_message_data.id).toBe(kept.id);
    const view = await myThread(bob.token, id);
    expect(view.last_message_data.id).toBe(kept.id);
    wb.close();
  });

  it("does not send to members without the ws flag", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread(ada, [{ user_id: bob.id, notifications: ["unread"] }]);
    const wb = await threadSocket(id, bob.token);
    const msg = await postOk(ada.token, id, "quiet");
    await wb.nothing((f) => f?.data?.message?.id === msg.id);
    expect((await myThread(bob.token, id)).unread_count).toBe(1);
    wb.close();
  });

  it("refuses strangers with 403 and unknown threads with 404 before the upgrade", async () => {
    const ada = await party("ada");
    const eve = await party("eve");
    const id = await createThread(ada);
    expect(((await tryConnect(`/ws/threads/${id}`, eve.token)) as Response).status).toBe(403);
    expect(((await tryConnect(`/ws/threads/nope`, eve.token)) as Response).status).toBe(404);
    const admin = await threadSocket(id, ADMIN);
    const msg = await postOk(ada.token, id, "for the admin");
    const seen = await messageEvent(admin, msg.id);
    expect(seen.data.user_thread).toMatchObject({ state: "closed", unread_count: 0 });
    admin.close();
  });

  it("closes a removed member's sockets", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread(ada, [{ user_id: bob.id }]);
    const wb = await threadSocket(id, bob.token);
    const res = await call("DELETE", `/api/threads/${id}/users/${bob.id}`, { token: ada.token });
    expect(res.status).toBe(204);
    expect((await wb.waitClosed()).code).toBe(4403);
  });

  it("rebuilds from storage after eviction: counts, views and the stream go on", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread(ada, [{ user_id: bob.id }]);
    const before = await postOk(ada.token, id, "before");
    const wb = await threadSocket(id, bob.token);
    const seen = await postOk(ada.token, id, "seen live");
    const live = await messageEvent(wb, seen.id);

    await abortAllDurableObjects();
    await wb.waitClosed();

    const wb2 = await threadSocket(id, bob.token);
    const after = await postOk(ada.token, id, "after");
    const event = await messageEvent(wb2, after.id);
    expect(event.seq).toBe(live.seq + 1);
    expect(event.data.user_thread.unread_count).toBe(3);
    const read = await wb2.request("mark_message_as_read", { message: before.id });
    expect(read.data.unread_count).toBe(2);
    wb2.close();

    // A resume from before the eviction replays this member's own view of what it missed.
    const resumed = await threadSocket(`${id}?since=${live.seq}`, bob.token);
    const replay = await messageEvent(resumed, after.id);
    expect(replay.seq).toBe(event.seq);
    expect(replay.data.message.is_own).toBe(false);
    expect(replay.data.user_thread).toMatchObject({ user_id: bob.id, unread_count: 3 });
    resumed.close();

    // A resume from beyond what the room knows gets `resync` with the member's current view.
    const lost = await threadSocket(`${id}?since=${event.seq + 100}`, bob.token);
    const resync = await lost.event("resync");
    expect(resync.data.user_thread).toMatchObject({ id, user_id: bob.id, unread_count: 2 });
    lost.close();
  });
});
