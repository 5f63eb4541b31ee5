import { expect } from "vitest";
import { ADMIN, call } from "./http";
import type { TestSocket } from "./ws";

/** Creates and publishes a schema; answers it. */
export async function publishedSchema(body: Record<string, unknown>) {
  const created = await call("POST", "/api/schemas", {
    token: ADMIN,
    body: { name: `script-${crypto.randomUUID()}`, type: "chat", ...body },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const published = await call("POST", `/api/schemas/${created.body.id}/publish`, { token: ADMIN });
  expect(published.status).toBe(200);
  return published.body;
}

export const users = (threadId: string) => `/api/threads/${threadId}/users`;

export async function setMember(threadId: string, userId: string, body: Record<string, unknown>) {
  const res = await call("PATCH", `${users(threadId)}/${userId}`, { token: ADMIN, body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

export async function member(threadId: string, userId: string) {
  return (await call("GET", `${users(threadId)}/${userId}`, { token: ADMIN })).body;
}

/** The next message the system (no sender) sent to this socket. */
export async function systemMessage(ws: TestSocket) {
  const frame = await ws.next(
    (f) =>
      f?.event === "message_created_or_updated" &&
      f.data?.message?.sender === null &&
      !f.data?.message?.deleted,
    "a system message",
  );
  return frame.data.message;
}

/** Texts of the thread's messages, oldest first, as `sender: text` (system = `*`). */
export async function transcript(threadId: string): Promise<string[]> {
  const res = await call("GET", `/api/threads/${threadId}/messages?limit=200`, { token: ADMIN });
  expect(res.status).toBe(200);
  return res.body.results
    .slice()
    .reverse()
    .map((m: any) => `${m.sender === null ? "*" : m.sender.split("-")[0]}: ${m.text}`);
}

/**
 * A conversation with a branch, variables, chained flow questions and a fork:
 *   1 message → 2 choice (Red: score=10 → 3, Blue: score=1 → 4)
 *   3 int 0..10 → 5      4 text → 5
 *   5 control → 6 fork (score ≥ 5 → 7, else → 8)
 *   7 message "High {{vars.score}}" → -1     8 message "Low" → -1
 */
export const CONVERSATION = {
  questions: [
    {
      qid: 1,
      position: 0,
      text: { en: "Hi {{user.name}}!", de: "Hallo {{user.name}}!" },
      type: "message",
      next_qid: 2,
    },
    {
      qid: 2,
      position: 1,
      text: { en: "Pick a colour", de: "Wähle eine Farbe" },
      type: "choice",
      required: true,
      answers: [
        {
          id: 21,
          text: { en: "Red", de: "Rot" },
          next_qid: 3,
          variables: [{ var: "score", op: "set", value: 10 }],
        },
        {
          id: 22,
          text: { en: "Blue", de: "Blau" },
          next_qid: 4,
          variables: [{ var: "score", op: "set", value: 1 }],
        },
      ],
    },
    {
      qid: 3,
      position: 2,
      text: "You said {{answers.2}}. How many, {{user.name}}?",
      type: "int",
      range_from: 0,
      range_to: 10,
      required: true,
      next_qid: 5,
      variables: [{ var: "count", op: "copy_answer" }],
    },
    { qid: 4, position: 3, text: "Why blue?", type: "text", required: true, next_qid: 5 },
    {
      qid: 5,
      position: 4,
      text: "Press continue",
      type: "control",
      show_as_type: "buttons",
      next_qid: 6,
    },
    {
      qid: 6,
      position: 5,
      text: "fork",
      type: "fork",
      fork: [
        { if: { var: "score", op: "gte", value: 5 }, next_qid: 7 },
        { if: { all: [] }, next_qid: 8 },
      ],
    },
    {
      qid: 7,
      position: 6,
      text: "High {{vars.score}}, count {{vars.count}}",
      type: "message",
      next_qid: -1,
    },
    { qid: 8, position: 7, text: "Low", type: "message", next_qid: -1 },
  ],
};
