import { abortAllDurableObjects, env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { ADMIN, call, expectErrorShape } from "../../helpers/http";
import {
  createThread,
  messageEvent,
  type Party,
  party,
  post,
  threadSocket,
} from "../../helpers/threads";

/** Every message row of a thread, deleted ones included: what a refusal must leave unchanged. */
async function storedMessages(threadId: string) {
  const { results } = await env.DB.prepare(
    "SELECT id, text FROM thread_messages WHERE thread_id = ? ORDER BY id",
  )
    .bind(threadId)
    .all();
  return results;
}

async function refused(res: { status: number; body: any }, status: number) {
  expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(status);
  expectErrorShape(res.body);
  return res.body.error.details;
}

/**
 * The thread answers everything after whatever was refused or stored before: a post and its
 * live event, an edit, a member change, a new socket, and the admin's DELETE of the thread.
 */
async function expectThreadWorks(threadId: string, poster: Party, other: Party) {
  const ws = await threadSocket(threadId, other.token);
  const posted = await post(poster.token, threadId, { text: "still here" });
  expect(posted.status, JSON.stringify(posted.body)).toBe(201);
  expect((await messageEvent(ws, posted.body.id)).data.message.text).toBe("still here");
  const edit = await call("PATCH", `/api/threads/${threadId}/messages/${posted.body.id}`, {
    token: ADMIN,
    body: { text: "edited" },
  });
  expect(edit.status, JSON.stringify(edit.body)).toBe(200);
  const change = await call("PATCH", `/api/threads/${threadId}/users/${other.id}`, {
    token: ADMIN,
    body: { notifications: ["ws"] },
  });
  expect(change.status, JSON.stringify(change.body)).toBe(200);
  const added = await party("late");
  const add = await call("POST", `/api/threads/${threadId}/users`, {
    token: ADMIN,
    body: { user_id: added.id },
  });
  expect(add.status, JSON.stringify(add.body)).toBe(201);
  const fresh = await threadSocket(threadId, added.token);
  const removed = await call("DELETE", `/api/threads/${threadId}`, { token: ADMIN });
  expect(removed.status, JSON.stringify(removed.body)).toBe(204);
  await fresh.waitClosed();
  ws.close();
}

async function thread() {
  const ada = await party("ada", []);
  const bob = await party("bob");
  const id = await createThread(ada, [{ user_id: bob.id }]);
  return { id, ada, bob };
}

describe("message bounds: refused before anything is stored, the thread unaffected", () => {
  it("a megabyte of meta is 400 naming meta", async () => {
    const { id, ada, bob } = await thread();
    const before = await storedMessages(id);
    const details = await refused(
      await post(ada.token, id, { text: "big", meta: { blob: "m".repeat(1_000_000) } }),
      400,
    );
    expect(details).toEqual({ meta: ["WRONG_VALUE"] });
    expect(await storedMessages(id)).toEqual(before);
    await expectThreadWorks(id, ada, bob);
  });

  it("20 attachments with 50 KB of options each are 400 naming attachments", async () => {
    const { id, ada, bob } = await thread();
    const attachment = {
      type: "image",
      url: "https://example.com/a.png",
      options: { blob: "o".repeat(50_000) },
    };
    const details = await refused(
      await post(ada.token, id, { text: "many", attachments: Array(20).fill(attachment) }),
      400,
    );
    expect(Object.keys(details)).toEqual(["attachments"]);
    expect(details.attachments).toContain("TOO_MANY");
    const one = await refused(await post(ada.token, id, { attachments: [attachment] }), 400);
    expect(one).toEqual({ attachments: ["WRONG_VALUE"] });
    expect(await storedMessages(id)).toEqual([]);
    await expectThreadWorks(id, ada, bob);
  });

  it("text over 16 KiB (in UTF-8 bytes) is 400 naming text; 16 KiB is stored", async () => {
    const { id, ada } = await thread();
    const over = await refused(await post(ada.token, id, { text: "é".repeat(8_193) }), 400);
    expect(over).toEqual({ text: ["WRONG_VALUE"] });
    expect((await post(ada.token, id, { text: "é".repeat(8_192) })).status).toBe(201);
    const mid = (await storedMessages(id))[0]!.id;
    const edit = await call("PATCH", `/api/threads/${id}/messages/${mid}`, {
      token: ada.token,
      body: { text: "x".repeat(16_385) },
    });
    expect(await refused(edit, 400)).toEqual({ text: ["WRONG_VALUE"] });
    const meta = await call("PATCH", `/api/threads/${id}/messages/${mid}`, {
      token: ada.token,
      body: { meta: { blob: "m".repeat(9_000) } },
    });
    expect(await refused(meta, 400)).toEqual({ meta: ["WRONG_VALUE"] });
  });

  it("a message over 64 KiB as a whole is 413, though each field is within its bound", async () => {
    const { id, ada, bob } = await thread();
    const attachment = {
      type: "image",
      url: "https://example.com/a.png",
      options: { blob: "o".repeat(7_900) },
    };
    const body = {
      text: "t".repeat(16_000),
      meta: { blob: "m".repeat(8_000) },
      attachments: Array(10).fill(attachment),
    };
    const details = await refused(await post(ada.token, id, body), 413);
    expect(details).toEqual({ non_field_errors: ["WRONG_VALUE"] });
    expect(await storedMessages(id)).toEqual([]);
    await expectThreadWorks(id, ada, bob);
  });
});

describe("the thread's event stream: what it cannot take is never stored, and never blocks it", () => {
  /**
   * Within every field bound and under 64 KiB as sent, but stored HTML-escaped (`<` is `&lt;`),
   * once as the message and once as the members' last message, with 32 members' own parts: well
   * over what one stream event may be.
   */
  function oversizedEvent() {
    const attachment = {
      type: "image",
      url: "https://example.com/a.png",
      title: "<".repeat(255),
      description: "<".repeat(5_000),
    };
    const body = { text: "<".repeat(16_384), attachments: Array(9).fill(attachment) };
    expect(JSON.stringify(body).length).toBeLessThan(64 * 1024);
    return body;
  }

  const crowd = (prefix: string) =>
    Array.from({ length: 30 }, (_v, i) => ({ user_id: `${prefix}-${i}` }));

  it("a message whose event would be over the stream's limit is 413 before it is stored", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const id = await createThread(ada, [{ user_id: bob.id }, ...crowd(bob.id)]);
    const res = await post(ada.token, id, oversizedEvent());
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(413);
    expect(res.body.error.code).toBe("payload_too_large");
    expect(await storedMessages(id)).toEqual([]);
    await expectThreadWorks(id, ada, bob);
  });

  it("so refused, a reopening post reopens nobody", async () => {
    const ada = await party("ada");
    const bob = await party("bob");
    const reopen = ["messages_read", "messages_create", "thread_read", "reopen"];
    const id = await createThread("admin", [
      { user_id: ada.id, state: "closed", permissions: reopen },
      { user_id: bob.id, state: "closed" },
      ...crowd(bob.id),
    ]);
    const res = await post(ada.token, id, oversizedEvent());
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(413);
    const { body } = await call("GET", `/api/threads/${id}/users?limit=200`, { token: ADMIN });
    const states = body.results.filter((m: any) => m.user_id === ada.id || m.user_id === bob.id);
    expect(states.map((m: any) => m.state)).toEqual(["closed", "closed"]);
    expect(await storedMessages(id)).toEqual([]);
  });

  /** A message row too large for the stream, stored straight into D1 as an older version could. */
  async function insertOversizedRow(threadId: string, sender: Party): Promise<number> {
    const row = await env.DB.prepare(
      "INSERT INTO thread_messages (thread_id, sender_id, sender_name, type, text, meta) VALUES (?, ?, 'old', 'message', 'old', ?) RETURNING id",
    )
      .bind(threadId, sender.id, JSON.stringify({ blob: "m".repeat(1_000_000) }))
      .first<{ id: number }>();
    return row!.id;
  }

  /** Runs `work` and answers the room's logs of skipped records. */
  async function skipsLogged(work: () => Promise<void>): Promise<string[]> {
    const errors = vi.spyOn(console, "error");
    try {
      await work();
      return errors.mock.calls
        .map(([line]) => JSON.parse(String(line)))
        .filter((l) => l.event === "thread.record_skipped")
        .map((l) => `${l.room} ${l.message}`);
    } finally {
      errors.mockRestore();
    }
  }

  it.each([
    ["a running room", false],
    ["a room that wakes up", true],
  ])("a stored row the stream refuses is skipped once by %s", async (_label, evicted) => {
    const { id, ada, bob } = await thread();
    expect((await post(ada.token, id, { text: "first" })).status).toBe(201);
    const old = await insertOversizedRow(id, ada);
    if (evicted) await abortAllDurableObjects();
    const skips = await skipsLogged(() => expectThreadWorks(id, ada, bob));
    expect(skips).toHaveLength(1);
    expect(skips[0]).toContain(`ThreadRoom:${id} skipped message_id ${old}`);
  });
});
