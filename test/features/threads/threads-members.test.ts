import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN, call } from "../../helpers/http";
import { createThread, myThread, party, post, postOk } from "../../helpers/threads";

const users = (id: string) => `/api/threads/${id}/users`;

describe("thread members: adding, changing, removing", () => {
  it("adds members with add_user; nobody grants a permission it lacks", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread(ada, [{ user_id: bob.id }]);

    const byBob = await call("POST", users(id), { token: bob.token, body: { user_id: "x1" } });
    expect(byBob.status).toBe(403);

    const tooMuch = await call("POST", users(id), {
      token: ada.token,
      body: { user_id: "x2", permissions: ["messages_read", "control_others"] },
    });
    expect(tooMuch.status).toBe(403);
    expect(tooMuch.body.error.details).toEqual({ permissions: ["NO_PERMISSIONS"] });

    const added = await call("POST", users(id), {
      token: ada.token,
      body: { user_id: "x3", name: "Xena", permissions: ["messages_read", "add_user"] },
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({
      user_id: "x3",
      name: "Xena",
      permissions: ["messages_read", "add_user"],
      notifications: ["unread", "ws"],
      state: "open",
    });
    expect(added.body).not.toHaveProperty("schema_id");

    const twice = await call("POST", users(id), { token: ada.token, body: { user_id: "x3" } });
    expect(twice.status).toBe(409);

    const roles = await call("POST", users(id), {
      token: ada.token,
      body: { user_id: "x4", roles: ["admin"] },
    });
    expect(roles.status).toBe(403);
    expect(roles.body.error.details).toEqual({ roles: ["NO_PERMISSIONS"] });

    const list = await call("GET", users(id), { token: bob.token });
    expect(list.body.results.map((u: any) => u.user_id)).toEqual([ada.id, bob.id, "x3"]);
    const page = await call("GET", `${users(id)}?limit=2`, { token: bob.token });
    expect(page.body.next).toBe(2);
  });

  it("changes others only with control_others, which also shows the schema fields", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread("admin", [
      { user_id: ada.id, permissions: ["thread_read", "control_others", "messages_read"] },
      { user_id: bob.id },
    ]);
    const byBob = await call("PATCH", `${users(id)}/${ada.id}`, {
      token: bob.token,
      body: { state: "closed" },
    });
    expect(byBob.status).toBe(403);

    const own = await call("PATCH", `${users(id)}/${bob.id}`, {
      token: bob.token,
      body: { notifications: ["ws"] },
    });
    expect(own.status).toBe(200);
    expect(own.body.notifications).toEqual(["ws"]);
    const ownState = await call("PATCH", `${users(id)}/${bob.id}`, {
      token: bob.token,
      body: { state: "closed" },
    });
    expect(ownState.status).toBe(403);

    const byAda = await call("PATCH", `${users(id)}/${bob.id}`, {
      token: ada.token,
      body: { state: "closed", on_finish: "close" },
    });
    expect(byAda.status).toBe(200);
    expect(byAda.body).toMatchObject({ state: "closed", on_finish: "close", schema_id: null });

    const grant = await call("PATCH", `${users(id)}/${bob.id}`, {
      token: ada.token,
      body: { permissions: ["messages_read", "messages_create", "thread_read", "reopen"] },
    });
    expect(grant.status).toBe(403);
    // Keeping what Bob already has is fine, even bits Ada lacks.
    const keep = await call("PATCH", `${users(id)}/${bob.id}`, {
      token: ada.token,
      body: { permissions: ["messages_create", "thread_read"] },
    });
    expect(keep.status).toBe(200);
    expect(keep.body.permissions).toEqual(["messages_create", "thread_read"]);

    const got = await call("GET", `${users(id)}/${bob.id}`, { token: ada.token });
    expect(got.body).toHaveProperty("variables", {});
  });

  it("checks the state machine: a schema needs a scripted state, one scripted member per thread", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread("admin", [{ user_id: ada.id }, { user_id: bob.id }]);
    const noSchema = await call("PATCH", `${users(id)}/${ada.id}`, {
      token: ADMIN,
      body: { state: "scripted" },
    });
    expect(noSchema.status).toBe(400);
    expect(noSchema.body.error.details).toEqual({ schema_id: ["REQUIRED"] });
    const wrongState = await call("PATCH", `${users(id)}/${ada.id}`, {
      token: ADMIN,
      body: { schema_id: "s1" },
    });
    expect(wrongState.body.error.details).toEqual({ state: ["WRONG_STATE"] });
    // Ada is scripted already (set in D1: the schema engine's own hooks would want a real schema).
    await env.DB.prepare(
      "UPDATE thread_members SET state = 'scripted', schema_id = 's1' WHERE thread_id = ? AND user_id = ?",
    )
      .bind(id, ada.id)
      .run();
    const second = await call("PATCH", `${users(id)}/${bob.id}`, {
      token: ADMIN,
      body: { state: "scripted_fe_controlled", schema_id: "s1" },
    });
    expect(second.status).toBe(400);
    expect(second.body.error.details).toEqual({ state: ["NOT_ALLOWED"] });
  });

  it("removes with remove_user; a member may leave", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const cy = await party("cy");
    const id = await createThread(ada, [{ user_id: bob.id }, { user_id: cy.id }]);
    expect((await call("DELETE", `${users(id)}/${cy.id}`, { token: bob.token })).status).toBe(403);
    expect((await call("DELETE", `${users(id)}/${bob.id}`, { token: bob.token })).status).toBe(204);
    expect((await call("DELETE", `${users(id)}/${cy.id}`, { token: ada.token })).status).toBe(204);
    expect((await call("GET", `/api/threads/${id}`, { token: cy.token })).status).toBe(403);
    expect((await call("DELETE", `${users(id)}/${cy.id}`, { token: ada.token })).status).toBe(404);
  });
});

describe("thread members: posting rules", () => {
  it("refuses a closed member with THREAD_IS_CLOSED; reopen reopens the thread", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread("admin", [
      { user_id: ada.id, state: "closed" },
      {
        user_id: bob.id,
        state: "closed",
        permissions: ["messages_read", "messages_create", "thread_read", "reopen"],
      },
    ]);
    const refused = await post(ada.token, id, { text: "let me in" });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({
      code: "forbidden",
      details: { text: ["THREAD_IS_CLOSED"] },
    });
    const list = await call("GET", `/api/threads/${id}/messages`, { token: ada.token });
    expect(list.body.results).toEqual([]);

    const reopened = await post(bob.token, id, { text: "reopening" });
    expect(reopened.status).toBe(201);
    expect(reopened.body.user_thread.state).toBe("open");
    expect((await myThread(ada.token, id)).state).toBe("open");
    expect((await post(ada.token, id, { text: "thanks" })).status).toBe(201);
  });

  it("needs messages_read to list and messages_create to post", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread(ada, [{ user_id: bob.id, permissions: ["thread_read"] }]);
    const list = await call("GET", `/api/threads/${id}/messages`, { token: bob.token });
    expect(list.status).toBe(403);
    expect(list.body.error.details).toEqual({ non_field_errors: ["NO_PERMISSIONS"] });
    expect((await post(bob.token, id, { text: "x" })).status).toBe(403);
  });

  it("lets only the sender edit or delete, with the matching permission", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread("admin", [
      { user_id: ada.id, permissions: ["messages_read", "messages_create", "messages_edit"] },
      {
        user_id: bob.id,
        permissions: ["messages_read", "messages_create", "messages_edit", "messages_delete"],
      },
    ]);
    const msg = await postOk(ada.token, id, "original");
    const path = `/api/threads/${id}/messages/${msg.id}`;
    const byBob = await call("PATCH", path, { token: bob.token, body: { text: "hacked" } });
    expect(byBob.status).toBe(403);
    expect((await call("DELETE", path, { token: bob.token })).status).toBe(403);
    const edited = await call("PATCH", path, { token: ada.token, body: { text: "<i>fixed</i>" } });
    expect(edited.status).toBe(200);
    expect(edited.body.text).toBe("&lt;i&gt;fixed&lt;/i&gt;");
    expect((await call("DELETE", path, { token: ada.token })).status).toBe(403);
    expect((await call("DELETE", path, { token: ADMIN })).status).toBe(204);
    expect((await call("PATCH", path, { token: ada.token, body: { text: "x" } })).status).toBe(404);
  });

  it("validates types, attachments and answers with the chat codes; nothing is stored", async () => {
    const ada = await party("ada");
    const id = await createThread(ada);
    const bad = await post(ada.token, id, {
      text: "look",
      type: "weird",
      attachments: [
        { type: "image" },
        { type: "youtube", url: "https://example.com/watch?v=abc" },
        { type: "object_reference", object_type: "order" },
        { type: "hologram" },
      ],
      answers: ["1"],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual({
      type: ["WRONG_VALUE"],
      "attachments.0.url": ["REQUIRED"],
      "attachments.1.url": ["WRONG_VALUE"],
      "attachments.2.object_id": ["REQUIRED"],
      "attachments.3.type": ["WRONG_VALUE"],
      answers: ["WRONG_STATE"],
    });
    const list = await call("GET", `/api/threads/${id}/messages`, { token: ada.token });
    expect(list.body.results).toEqual([]);

    const ok = await post(ada.token, id, {
      text: "",
      attachments: [
        { type: "youtube", url: "https://youtu.be/dQw4w9WgXcQ", title: "<b>song</b>" },
        { type: "image", url: "https://example.com/cat.png" },
        { type: "object_reference", object_type: "order", object_id: "42" },
      ],
    });
    expect(ok.status).toBe(201);
    expect(ok.body.has_attachments).toBe(true);
    expect(ok.body.attachments_data).toMatchObject([
      {
        type: "youtube",
        title: "&lt;b&gt;song&lt;/b&gt;",
        src: "https://www.youtube.com/embed/dQw4w9WgXcQ",
        thumbnail: { url: "https://img.youtube.com/vi/dQw4w9WgXcQ/hqdefault.jpg" },
      },
      { type: "image", src: "https://example.com/cat.png" },
      { type: "object_reference", object_type: "order", object_id: "42", src: null },
    ]);
  });

  it("pages messages newest first without a count and searches words case-insensitively", async () => {
    const ada = await party("ada");
    const id = await createThread(ada);
    for (const text of ["Alpha beta", "gamma", "BETA alpha <x>", "delta"]) {
      await postOk(ada.token, id, text);
    }
    const first = await call("GET", `/api/threads/${id}/messages?limit=3`, { token: ada.token });
    expect(first.body.results.map((m: any) => m.text)).toEqual([
      "delta",
      "BETA alpha &lt;x&gt;",
      "gamma",
    ]);
    expect(first.body.next).toBe(3);
    expect(first.body).not.toHaveProperty("count");
    const rest = await call("GET", `/api/threads/${id}/messages?limit=3&offset=3`, {
      token: ada.token,
    });
    expect(rest.body).toMatchObject({ next: null });
    expect(rest.body.results.map((m: any) => m.text)).toEqual(["Alpha beta"]);

    const q = await call("GET", `/api/threads/${id}/messages?q=alpha%20BETA`, {
      token: ada.token,
    });
    expect(q.body.results.map((m: any) => m.text)).toEqual(["BETA alpha &lt;x&gt;", "Alpha beta"]);
    const lt = await call("GET", `/api/threads/${id}/messages?q=%3Cx`, { token: ada.token });
    expect(lt.body.results).toHaveLength(1);
    const tooBig = await call("GET", `/api/threads/${id}/messages?limit=500`, { token: ada.token });
    expect(tooBig.status).toBe(400);
  });

  it("creates unread rows only for members with the unread flag; a flag change keeps history", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread(ada, [{ user_id: bob.id }]);
    await postOk(ada.token, id, "one");
    await postOk(ada.token, id, "two");
    expect((await myThread(ada.token, id)).unread_count).toBe(0);
    expect((await myThread(bob.token, id)).unread_count).toBe(2);

    const off = await call("PATCH", `/api/threads/${id}/users/${bob.id}`, {
      token: bob.token,
      body: { notifications: ["ws"] },
    });
    expect(off.status).toBe(200);
    expect((await myThread(bob.token, id)).unread_count).toBe(2);
    await postOk(ada.token, id, "three");
    expect((await myThread(bob.token, id)).unread_count).toBe(2);

    await call("PATCH", `/api/threads/${id}/users/${bob.id}`, {
      token: bob.token,
      body: { notifications: ["ws", "unread"] },
    });
    expect((await myThread(bob.token, id)).unread_count).toBe(2);
    await postOk(ada.token, id, "four");
    expect((await myThread(bob.token, id)).unread_count).toBe(3);
  });
});
