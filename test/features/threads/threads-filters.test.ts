import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { chatInvalid } from "../../../src/features/threads/errors";
import { registerMemberStateHooks } from "../../../src/features/threads/member-state";
import { chatSettings, configureChatSettings } from "../../../src/features/threads/settings";
import { ADMIN, call } from "../../helpers/http";
import {
  createThread,
  messageEvent,
  myThread,
  party,
  post,
  postOk,
  threadSocket,
} from "../../helpers/threads";
import { tryConnect } from "../../helpers/ws";

describe("message filters", () => {
  it("shows `secret` messages only to the admin role: lists, sockets, last message, unread", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread("admin", [
      { user_id: ada.id, roles: ["admin"] },
      { user_id: bob.id },
    ]);
    const [wa, wb] = await Promise.all([threadSocket(id, ada.token), threadSocket(id, bob.token)]);
    const visible = await postOk(ada.token, id, "for everyone");
    await messageEvent(wb, visible.id);
    const secret = await postOk(ada.token, id, "admins only", "secret");

    expect((await messageEvent(wa, secret.id)).data.message.type).toBe("secret");
    await wb.nothing((f) => f?.data?.message?.id === secret.id);

    const bobView = await myThread(bob.token, id);
    expect(bobView.last_message_data.id).toBe(visible.id);
    expect(bobView.unread_count).toBe(1);
    const bobList = await call("GET", `/api/threads/${id}/messages`, { token: bob.token });
    expect(bobList.body.results.map((m: any) => m.id)).toEqual([visible.id]);

    const adaList = await call("GET", `/api/threads/${id}/messages`, { token: ada.token });
    expect(adaList.body.results.map((m: any) => m.id)).toEqual([secret.id, visible.id]);
    const adminList = await call("GET", `/api/threads/${id}/messages`, { token: ADMIN });
    expect(adminList.body.results).toHaveLength(2);

    // Deleting the secret one never tells Bob about it either.
    const del = await call("DELETE", `/api/threads/${id}/messages/${secret.id}`, { token: ADMIN });
    expect(del.status).toBe(204);
    await messageEvent(wa, secret.id);
    await wb.nothing((f) => f?.data?.message?.id === secret.id);
    wa.close();
    wb.close();
  });

  it("lets app code replace the filters and a route's permission", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread(ada, [{ user_id: bob.id, permissions: ["thread_read"] }]);
    await postOk(ada.token, id, "public");
    await postOk(ada.token, id, "draft: hidden");
    const restore = configureChatSettings({
      messageFilter: (message, viewer) =>
        viewer.userId === message.senderId || message.meta?.draft !== true,
      listFilter: () => [],
      routePermissions: { listMessages: ({ member }) => member !== null },
    });
    try {
      await post(ada.token, id, { text: "mine", meta: { draft: true } });
      const list = await call("GET", `/api/threads/${id}/messages`, { token: bob.token });
      expect(list.status).toBe(200);
      expect(list.body.results.map((m: any) => m.text)).toEqual(["draft: hidden", "public"]);
    } finally {
      restore();
    }
    expect((await call("GET", `/api/threads/${id}/messages`, { token: bob.token })).status).toBe(
      403,
    );
  });

  it("reads JSON settings from CHAT_SETTINGS and the bus namespace from THREADS_BUS_DB", () => {
    const settings = chatSettings({
      ...env,
      CHAT_SETTINGS: JSON.stringify({
        messageTypes: ["message", "note"],
        restrictedMessageTypes: { note: ["staff"] },
        pagination: { messages: { defaultLimit: 10, maxLimit: 20 } },
      }),
      THREADS_BUS_DB: "chat",
    } as Env);
    expect(settings.messageTypes).toEqual(["message", "note"]);
    expect(settings.busDb).toBe("chat");
    expect(settings.pagination.messages).toEqual({ defaultLimit: 10, maxLimit: 20 });
    expect(settings.pagination.threads.defaultLimit).toBe(50);
    const note = { type: "note", senderId: null, meta: null };
    expect(settings.messageFilter(note, { userId: "u", roles: [] })).toBe(false);
    expect(settings.messageFilter(note, { userId: "u", roles: ["staff"] })).toBe(true);
    expect(settings.listFilter({ userId: "u", roles: ["admin"] })).toEqual(["note"]);
    expect(() => chatSettings({ ...env, CHAT_SETTINGS: '{"unknownKey": 1}' } as Env)).toThrow();
  });
});

describe("observers", () => {
  it("needs threads.observe, keeps one observed thread per user and sees a closed view", async () => {
    const ada = await party("ada");
    const eve = await party("eve");
    const obs = await party("obs", ["threads.observe"]);
    const first = await createThread(ada);
    const second = await createThread(ada);

    const refused = await call("POST", `/api/threads/${first}/ws-subscribe`, { token: eve.token });
    expect(refused.status).toBe(403);
    expect(((await tryConnect(`/ws/threads/${first}`, obs.token)) as Response).status).toBe(403);

    const ok = await call("POST", `/api/threads/${first}/ws-subscribe`, { token: obs.token });
    expect(ok.status).toBe(204);
    const wo = await threadSocket(first, obs.token);
    const wa = await threadSocket(first, ada.token);
    const msg = await postOk(ada.token, first, "observed");
    const seen = await messageEvent(wo, msg.id);
    expect(seen.data.user_thread).toMatchObject({
      id: first,
      state: "closed",
      permissions: ["messages_read", "thread_read"],
      notifications: [],
      unread_count: 0,
    });
    const secret = await postOk(ada.token, first, "hidden", "secret");
    await wo.nothing((f) => f?.data?.message?.id === secret.id);

    wa.send({ event: "thread_someone_is_writing", data: { length: 5 } });
    expect((await wo.event("thread_someone_is_writing")).data.user.id).toBe(ada.id);
    const typing = await wo.request("thread_someone_is_writing", { length: 5 });
    expect(typing.status).toBe(403);
    expect((await post(obs.token, first, { text: "hi" })).status).toBe(403);

    expect(
      (await call("POST", `/api/threads/${second}/ws-subscribe`, { token: obs.token })).status,
    ).toBe(204);
    expect((await wo.waitClosed()).code).toBe(4403);
    expect(((await tryConnect(`/ws/threads/${first}`, obs.token)) as Response).status).toBe(403);
    const wo2 = await threadSocket(second, obs.token);
    wo2.close();
    wa.close();
  });
});

describe("domain event, bus nudges, hooks", () => {
  it("emits thread.message_created after storing the message", async () => {
    const ada = await party("ada");
    const id = await createThread(ada);
    const msg = await postOk(ada.token, id, "<hello>");
    const row = await env.DB.prepare(
      "SELECT data FROM webhook_events WHERE event_type = 'thread.message_created' AND data LIKE ?",
    )
      .bind(`%${id}%`)
      .first<{ data: string }>();
    expect(JSON.parse(row!.data)).toEqual({
      thread_id: id,
      message_id: msg.id,
      sender_id: ada.id,
      type: "message",
      text: "&lt;hello&gt;",
    });
  });

  it("nudges user:<id> on the bus with the new unread count, up and down", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread(ada, [{ user_id: bob.id }]);
    const poll = (last: string | null) =>
      call("POST", "/main/bus?timeout=5", {
        token: bob.token,
        body: { last_message: last, channels: [] },
      });

    const waiting = poll(null);
    await new Promise((r) => setTimeout(r, 300));
    const msg = await postOk(ada.token, id, "ping");
    const up = await waiting;
    expect(up.status).toBe(200);
    expect(up.body.channel).toBe(`user:${bob.id}`);
    expect(up.body.message).toMatchObject({
      type: "thread_unread",
      thread_id: id,
      unread_count: 1,
    });

    const wb = await threadSocket(id, bob.token);
    await wb.request("mark_message_as_read", { message: msg.id });
    const down = await poll(up.body.message.message_id);
    expect(down.body.message).toMatchObject({ type: "thread_unread", unread_count: 0 });
    wb.close();
  });

  it("runs member-state hooks: validate and amend a post, react after it and after changes", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const changes: string[] = [];
    const unregister = registerMemberStateHooks({
      beforePost: ({ draft }) => {
        if (draft.text === "refuse me") throw chatInvalid({ text: ["WRONG_VALUE"] });
        if (draft.text === "quiet") draft.store = false;
        draft.text = draft.text.toUpperCase();
      },
      afterPost: async ({ ops, message }) => {
        if (message?.text === "PING")
          await ops.postSystemMessage({ type: "message", text: "pong" });
      },
      afterMemberChange: ({ before, after }) => {
        changes.push(`${after.userId}:${before?.state ?? "new"}->${after.state}`);
      },
    });
    try {
      const id = await createThread(ada, [{ user_id: bob.id }]);
      const wb = await threadSocket(id, bob.token);
      const refused = await post(ada.token, id, { text: "refuse me" });
      expect(refused.status).toBe(400);
      expect(refused.body.error.details).toEqual({ text: ["WRONG_VALUE"] });
      expect((await post(ada.token, id, { text: "quiet" })).status).toBe(204);

      const ping = await postOk(ada.token, id, "ping");
      expect(ping.text).toBe("PING");
      const pong = await wb.next((f) => f?.data?.message?.text === "pong", "the system's pong");
      expect(pong.data.message).toMatchObject({ sender: null, sender_data: null });
      const list = await call("GET", `/api/threads/${id}/messages`, { token: bob.token });
      expect(list.body.results.map((m: any) => m.text)).toEqual(["pong", "PING"]);

      await call("PATCH", `/api/threads/${id}/users/${bob.id}`, {
        token: ADMIN,
        body: { state: "closed" },
      });
      expect(changes).toEqual([
        `${ada.id}:new->open`,
        `${bob.id}:new->open`,
        `${bob.id}:open->closed`,
      ]);
      wb.close();
    } finally {
      unregister();
    }
  });
});
