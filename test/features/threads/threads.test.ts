import { describe, expect, it } from "vitest";
import { ADMIN, call, expectErrorShape } from "../../helpers/http";
import { createThread, myThread, party, post, postOk } from "../../helpers/threads";

describe("threads: create, list, get, edit, delete", () => {
  it("makes the creating client a member with the creator's permissions; others get defaults", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const res = await call("POST", "/api/threads", {
      token: ada.token,
      body: { title: "Plans", type: "chat", members: [{ user_id: bob.id, name: "Bob" }] },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      title: "Plans",
      type: "chat",
      state: "open",
      user_id: ada.id,
      unread_count: 0,
      last_message_data: null,
      notifications: ["unread", "ws"],
    });
    expect(res.body.permissions).toEqual([
      "messages_read",
      "messages_create",
      "messages_delete",
      "thread_read",
      "thread_edit",
      "thread_delete",
      "add_user",
      "remove_user",
    ]);
    expect(res.body.users.map((u: any) => u.user_id).sort()).toEqual([ada.id, bob.id].sort());

    const bobView = await myThread(bob.token, res.body.id);
    expect(bobView.permissions).toEqual(["messages_read", "messages_create", "thread_read"]);
  });

  it("refuses an unknown thread type and a client granting what it lacks, storing nothing", async () => {
    const ada = await party("ada");
    const bad = await call("POST", "/api/threads", {
      token: ada.token,
      body: { title: "x", type: "nope", members: [] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual({ type: ["WRONG_VALUE"] });

    const grant = await call("POST", "/api/threads", {
      token: ada.token,
      body: { title: "x", members: [{ user_id: "someone", permissions: ["control_others"] }] },
    });
    expect(grant.status).toBe(403);
    expect(grant.body.error.details).toEqual({ "members.0.permissions": ["NO_PERMISSIONS"] });
    const mine = await call("GET", "/api/threads", { token: ada.token });
    expect(mine.body.results).toEqual([]);
  });

  it("lists my threads with unread_count and last_message_data, newest activity first", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const first = await createThread(ada, [{ user_id: bob.id }]);
    const second = await createThread(ada, [{ user_id: bob.id }]);
    await postOk(ada.token, first, "hello <b>bob</b>");
    const list = await call("GET", "/api/threads", { token: bob.token });
    expect(list.status).toBe(200);
    expect(list.body.results.map((t: any) => t.id)).toEqual([first, second]);
    const [view] = list.body.results;
    expect(view.unread_count).toBe(1);
    expect(view.last_message_data).toMatchObject({
      text: "hello &lt;b&gt;bob&lt;/b&gt;",
      sender: ada.id,
      is_own: false,
      is_read: false,
    });
    expect(list.body.next).toBeNull();

    const paged = await call("GET", "/api/threads?limit=1", { token: bob.token });
    expect(paged.body).toMatchObject({ next: 1 });
    expect(paged.body.results).toHaveLength(1);
    expect(paged.body).not.toHaveProperty("count");
  });

  it("filters the list by a listable type and refuses others", async () => {
    const ada = await party("ada");
    const survey = await createThread(ada, [], { type: "survey" });
    await createThread(ada);
    const only = await call("GET", "/api/threads?type=survey", { token: ada.token });
    expect(only.body.results.map((t: any) => t.id)).toEqual([survey]);
    const bad = await call("GET", "/api/threads?type=nope", { token: ada.token });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual({ type: ["WRONG_VALUE"] });
  });

  it("gets, edits and deletes per permissions; the admin token is a superuser", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const eve = await party("eve");
    const id = await createThread(ada, [{ user_id: bob.id }]);

    expect((await call("GET", `/api/threads/${id}`, { token: bob.token })).status).toBe(200);
    const stranger = await call("GET", `/api/threads/${id}`, { token: eve.token });
    expect(stranger.status).toBe(403);
    expectErrorShape(stranger.body);
    expect(stranger.body.error.details).toEqual({ non_field_errors: ["NO_PERMISSIONS"] });
    expect((await call("GET", `/api/threads/nope`, { token: ada.token })).status).toBe(404);

    const bobEdit = await call("PATCH", `/api/threads/${id}`, {
      token: bob.token,
      body: { title: "mine now" },
    });
    expect(bobEdit.status).toBe(403);
    const adaEdit = await call("PATCH", `/api/threads/${id}`, {
      token: ada.token,
      body: { title: "Renamed" },
    });
    expect(adaEdit.status).toBe(200);
    expect(adaEdit.body.title).toBe("Renamed");

    const own = await call("PATCH", `/api/threads/${id}`, {
      token: bob.token,
      body: { notifications: ["ws"] },
    });
    expect(own.status).toBe(200);
    expect(own.body.notifications).toEqual(["ws"]);

    const admin = await call("GET", `/api/threads/${id}`, { token: ADMIN });
    expect(admin.status).toBe(200);
    expect(admin.body.permissions).toContain("control_others");

    expect((await call("DELETE", `/api/threads/${id}`, { token: bob.token })).status).toBe(403);
    expect((await call("DELETE", `/api/threads/${id}`, { token: ada.token })).status).toBe(204);
    expect((await call("GET", `/api/threads/${id}`, { token: ADMIN })).status).toBe(404);
  });

  it("closes the whole thread with PATCH state, which blocks posting", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread(ada, [{ user_id: bob.id }]);
    const closed = await call("PATCH", `/api/threads/${id}`, {
      token: ada.token,
      body: { state: "closed" },
    });
    expect(closed.body.state).toBe("closed");
    const refused = await post(bob.token, id, { text: "hi" });
    expect(refused.status).toBe(403);
    expect(refused.body.error.details).toEqual({ text: ["THREAD_IS_CLOSED"] });
  });

  it("rejects anonymous calls and bad bodies with the contract's error shape", async () => {
    const ada = await party("ada");
    const anon = await call("GET", "/api/threads");
    expect(anon.status).toBe(401);
    const bad = await call("POST", "/api/threads", {
      token: ada.token,
      body: { title: 5, members: "x" },
    });
    expect(bad.status).toBe(400);
    expectErrorShape(bad.body);
    expect(Object.keys(bad.body.error.details)).toEqual(
      expect.arrayContaining(["title", "members"]),
    );
  });
});
