import { describe, expect, it } from "vitest";
import { call, expectErrorShape } from "./helpers/http";
import { connect } from "./helpers/ws";
import { createThread, messageEvent, party } from "./threads-helpers";

/** `Idempotency-Key` on `POST /api/threads/:id/messages` (docs/threads.md). */

function postKeyed(token: string, threadId: string, key: string, body: Record<string, unknown>) {
  return call("POST", `/api/threads/${threadId}/messages`, {
    token,
    body,
    headers: { "Idempotency-Key": key },
  });
}

async function storedTexts(threadId: string, token: string): Promise<string[]> {
  const res = await call("GET", `/api/threads/${threadId}/messages?limit=200`, { token });
  expect(res.status).toBe(200);
  return res.body.results.map((m: { text: string }) => m.text).reverse();
}

async function thread() {
  const ada = await party("ada");
  const bob = await party("bob");
  const id = await createThread(ada, [{ user_id: bob.id }]);
  return { ada, bob, id };
}

describe("threads: Idempotency-Key on posts", () => {
  it("stores and broadcasts a retried post once and answers it again with 201", async () => {
    const { ada, bob, id } = await thread();
    const watching = await connect(`/ws/threads/${id}?since=0`, bob.token);
    const key = crypto.randomUUID();
    const first = await postKeyed(ada.token, id, key, { text: "hello" });
    expect(first.status).toBe(201);
    const again = await postKeyed(ada.token, id, key, { text: "hello" });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.text).toBe("hello");

    const later = await postKeyed(ada.token, id, crypto.randomUUID(), { text: "later" });
    const event = await messageEvent(watching, later.body.id);
    const shown = [...watching.frames.filter((f) => typeof f?.seq === "number"), event];
    expect(shown.map((f) => f.data.message.id)).toEqual([first.body.id, later.body.id]);
    watching.close();
    expect(await storedTexts(id, ada.token)).toEqual(["hello", "later"]);
  });

  it("stores one message when the same key arrives twice at once", async () => {
    const { ada, id } = await thread();
    const key = crypto.randomUUID();
    const answers = await Promise.all([
      postKeyed(ada.token, id, key, { text: "twice" }),
      postKeyed(ada.token, id, key, { text: "twice" }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([201, 201]);
    expect(answers[0]?.body.id).toBe(answers[1]?.body.id);
    expect(await storedTexts(id, ada.token)).toEqual(["twice"]);
  });

  it("refuses the key reused with another body with 422, storing nothing", async () => {
    const { ada, id } = await thread();
    const key = crypto.randomUUID();
    expect((await postKeyed(ada.token, id, key, { text: "one" })).status).toBe(201);
    const reused = await postKeyed(ada.token, id, key, { text: "two" });
    expect(reused.status).toBe(422);
    expectErrorShape(reused.body);
    expect(reused.body.error.code).toBe("unprocessable");
    expect(reused.body.error.details).toEqual({
      "idempotency-key": ["REUSED_WITH_ANOTHER_BODY"],
    });
    expect(await storedTexts(id, ada.token)).toEqual(["one"]);
  });

  it("keeps keys per caller: two users with one key post two messages", async () => {
    const { ada, bob, id } = await thread();
    const key = crypto.randomUUID();
    const a = await postKeyed(ada.token, id, key, { text: "same" });
    const b = await postKeyed(bob.token, id, key, { text: "same" });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).not.toBe(b.body.id);
    expect(await storedTexts(id, ada.token)).toEqual(["same", "same"]);
  });

  it("keeps keys per thread", async () => {
    const { ada, id } = await thread();
    const other = await createThread(ada);
    const key = crypto.randomUUID();
    const a = await postKeyed(ada.token, id, key, { text: "here" });
    const b = await postKeyed(ada.token, other, key, { text: "here" });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(await storedTexts(other, ada.token)).toEqual(["here"]);
  });

  it("reads the IETF draft's quoted form as the same key", async () => {
    const { ada, id } = await thread();
    const key = crypto.randomUUID();
    const bare = await postKeyed(ada.token, id, key, { text: "quoted" });
    const quoted = await postKeyed(ada.token, id, `"${key}"`, { text: "quoted" });
    expect(quoted.status).toBe(201);
    expect(quoted.body.id).toBe(bare.body.id);
  });

  it("refuses a malformed key with 400 naming the header", async () => {
    const { ada, id } = await thread();
    for (const key of ["x".repeat(256), "with space", '"unterminated']) {
      const res = await postKeyed(ada.token, id, key, { text: "never" });
      expect(res.status, key).toBe(400);
      expectErrorShape(res.body);
      expect(Object.keys(res.body.error.details ?? {})).toContain("idempotency-key");
    }
    expect(await storedTexts(id, ada.token)).toEqual([]);
  });

  it("answers 404 for a key whose message was deleted since", async () => {
    const { ada, id } = await thread();
    const key = crypto.randomUUID();
    const posted = await postKeyed(ada.token, id, key, { text: "gone" });
    const removed = await call("DELETE", `/api/threads/${id}/messages/${posted.body.id}`, {
      token: ada.token,
    });
    expect(removed.status).toBe(204);
    const again = await postKeyed(ada.token, id, key, { text: "gone" });
    expect(again.status).toBe(404);
    expectErrorShape(again.body);
  });
});
