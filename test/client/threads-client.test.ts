import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { WebSocketLike } from "../../src/client/room-client";
import {
  type MemberView,
  questionOf,
  ThreadRoomClient,
  ThreadsApi,
  ThreadsApiError,
} from "../../src/client/threads";
import { ADMIN, BASE, tokenFor } from "../helpers/http";
import { uid } from "../helpers/threads";

/** workerd cannot dial its own test worker by URL: sockets and calls go through SELF. */
async function viaWorker(url: string): Promise<WebSocketLike> {
  const res = await SELF.fetch(url.replace(/^ws/, "http"), { headers: { Upgrade: "websocket" } });
  if (!res.webSocket) throw new Error(`upgrade refused: ${res.status}`);
  res.webSocket.accept();
  return res.webSocket as unknown as WebSocketLike;
}

const api = new ThreadsApi(BASE, (input, init) => SELF.fetch(input as string, init));

function nextEvent<T>(client: ThreadRoomClient, event: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within 3 s`)), 3_000);
    const off = client.on<T>(event, (data) => {
      clearTimeout(timer);
      off();
      resolve(data);
    });
  });
}

const opened = (client: ThreadRoomClient) =>
  client.state === "open" ? Promise.resolve() : nextEvent(client, "open");

async function pair() {
  const ada = uid("ada");
  const bob = uid("bob");
  const thread = await api.createThread(ADMIN, {
    title: "SDK chat",
    type: "chat",
    members: [
      { user_id: ada, name: "Ada" },
      { user_id: bob, name: "Bob" },
    ],
  });
  return {
    thread,
    ada: { id: ada, token: await tokenFor(ada, [], { name: "Ada" }) },
    bob: { id: bob, token: await tokenFor(bob, [], { name: "Bob" }) },
  };
}

async function publish(body: Record<string, unknown>): Promise<{ id: string }> {
  const res = await SELF.fetch(`${BASE}/api/schemas`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name: uid("schema"), ...body }),
  });
  const schema = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(schema)).toBe(201);
  const pub = await SELF.fetch(`${BASE}/api/schemas/${schema.id}/publish`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN}` },
  });
  expect(pub.status).toBe(200);
  return schema;
}

describe("threads SDK against the real Worker", () => {
  it("lists threads with unread counts, posts, lists (marking read) over ThreadsApi", async () => {
    const { thread, ada, bob } = await pair();
    const posted = await api.postMessage(ada.token, thread.id, { text: "a < b" });
    expect(posted).toMatchObject({
      text: "a &lt; b",
      is_own: true,
      user_thread: { unread_count: 0 },
    });

    const bobs = await api.listThreads(bob.token);
    const mine = bobs.results.find((t) => t.id === thread.id) as MemberView;
    expect(mine).toMatchObject({ user_id: bob.id, unread_count: 1 });
    expect(mine.last_message_data?.text).toBe("a &lt; b");

    const page = await api.listMessages(bob.token, thread.id, { limit: 10 });
    expect(page.results.map((m) => m.text)).toEqual(["a &lt; b"]);
    expect(page.next).toBeNull();
    expect((await api.getThread(bob.token, thread.id)).unread_count).toBe(0);
  });

  it("throws ThreadsApiError with the status, code and chat codes per field", async () => {
    const { thread, ada } = await pair();
    const refused = await api.postMessage(ada.token, thread.id, { type: "nope" }).catch((e) => e);
    expect(refused).toBeInstanceOf(ThreadsApiError);
    expect(refused).toMatchObject({
      status: 400,
      code: "bad_request",
      details: { type: ["WRONG_VALUE"] },
    });
    const unknown = await api.listThreads("not-a-token").catch((e) => e);
    expect(unknown).toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("ThreadRoomClient: live messages, typing notices both ways, markRead", async () => {
    const { thread, ada, bob } = await pair();
    const options = { connect: viaWorker };
    const wa = new ThreadRoomClient(BASE, thread.id, { ...options, token: () => ada.token });
    const wb = new ThreadRoomClient(BASE, thread.id, { ...options, token: () => bob.token });
    try {
      await Promise.all([opened(wa), opened(wb)]);
      const writing = nextEvent<{ user: { id: string; name: string }; length: number }>(
        wa,
        "thread_someone_is_writing",
      );
      wb.writing(4000);
      expect(await writing).toMatchObject({ user: { id: bob.id }, length: 4000 });

      const live = nextEvent<{ message: { id: number; text: string }; user_thread: MemberView }>(
        wb,
        "message_created_or_updated",
      );
      const posted = await api.postMessage(ada.token, thread.id, { text: "hello" });
      const seen = await live;
      expect(seen.message).toMatchObject({ id: posted?.id, text: "hello" });
      expect(seen.user_thread.unread_count).toBe(1);

      const read = await wb.markRead(seen.message.id);
      expect(read).toMatchObject({ status: 200, data: { unread_count: 0 } });
    } finally {
      wa.close();
      wb.close();
    }
  });

  it("scripted question messages carry their answers; posting an answer id moves on", async () => {
    const { thread, ada } = await pair();
    const schema = await publish({
      type: "automated_flow",
      questions: [
        {
          qid: 1,
          position: 0,
          text: "Tea or coffee?",
          type: "choice",
          required: true,
          next_qid: -1,
          answers: [
            { id: 11, text: "Tea", next_qid: 2 },
            { id: 12, text: "Coffee", next_qid: 2 },
          ],
        },
        { qid: 2, position: 1, text: "Sugar?", type: "text", next_qid: -1 },
      ],
    });
    const patched = await SELF.fetch(`${BASE}/api/threads/${thread.id}/users/${ada.id}`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ state: "scripted", schema_id: schema.id, on_finish: "open" }),
    });
    expect(patched.status).toBe(200);

    const [question] = (await api.listMessages(ada.token, thread.id)).results;
    const found = question && questionOf(question);
    expect(found).toMatchObject({ forUser: ada.id, q: { qid: 1, type: "choice" } });
    expect(found?.q.answers.map((a) => a.text)).toEqual(["Tea", "Coffee"]);

    expect(await api.postMessage(ada.token, thread.id, { answers: [12] })).toMatchObject({
      text: "Coffee",
      answers: ["12"],
    });
    const [next] = (await api.listMessages(ada.token, thread.id)).results;
    expect(next && questionOf(next)?.q.qid).toBe(2);
  });

  it("surveys: the schema, answering a question makes its next one visible", async () => {
    const user = uid("sam");
    const token = await tokenFor(user);
    const schema = await publish({
      type: "survey",
      questions: [
        {
          qid: 1,
          position: 0,
          text: "Happy?",
          type: "choice",
          required: true,
          next_qid: -1,
          answers: [
            { id: 11, text: "Yes", next_qid: -1 },
            { id: 12, text: "No", next_qid: 2 },
          ],
        },
        { qid: 2, position: 1, text: "Why not?", type: "text", required: true, next_qid: -1 },
      ],
    });
    const created = await SELF.fetch(`${BASE}/api/surveys`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ schema_id: schema.id }),
    });
    expect(created.status).toBe(201);
    const [survey] = (await api.listSurveys(token)).results;
    expect(survey?.state).toEqual({ visibility: [1], completed: false });
    const read = await api.getSchema(token, schema.id);
    expect(read.questions.map((q) => q.text)).toEqual(["Happy?", "Why not?"]);

    const id = survey?.id as string;
    const item = await api.answerSurvey(token, id, { question: 1, answers: [12] });
    expect(item.survey_state).toEqual({ visibility: [1, 2], completed: false });
    await api.answerSurvey(token, id, { question: 2, text: "Rain" });
    expect((await api.getSurvey(token, id)).state.completed).toBe(true);
    expect((await api.listSurveyItems(token, id)).results.map((i) => i.question)).toEqual([1, 2]);
    const again = await api.answerSurvey(token, id, { question: 1, answers: [11] }).catch((e) => e);
    expect(again).toMatchObject({ status: 409, details: { question: ["ALREADY_ANSWERED"] } });
  });
});
