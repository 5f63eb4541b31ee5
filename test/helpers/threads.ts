import { expect } from "vitest";
import { ADMIN, call, tokenFor } from "./http";
import { connect, type TestSocket } from "./ws";

/** Fresh ids per test: storage is shared by the tests of a file. */
export const uid = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

export interface Party {
  id: string;
  token: string;
}

export async function party(prefix: string, permissions: string[] = []): Promise<Party> {
  const id = uid(prefix);
  return { id, token: await tokenFor(id, permissions, { name: `${prefix} name` }) };
}

/** Creates a thread as `creator` (a party or the admin token) and answers its id. */
export async function createThread(
  creator: Party | "admin",
  members: Record<string, unknown>[] = [],
  extra: Record<string, unknown> = {},
): Promise<string> {
  const token = creator === "admin" ? ADMIN : creator.token;
  const res = await call("POST", "/api/threads", {
    token,
    body: { title: "Room", type: "chat", members, ...extra },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

export async function post(
  token: string,
  threadId: string,
  body: Record<string, unknown>,
): Promise<{ status: number; body: any }> {
  return call("POST", `/api/threads/${threadId}/messages`, { token, body });
}

export async function postOk(token: string, threadId: string, text: string, type = "message") {
  const res = await post(token, threadId, { text, type });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

export async function myThread(token: string, threadId: string) {
  const res = await call("GET", "/api/threads", { token });
  expect(res.status).toBe(200);
  return res.body.results.find((t: any) => t.id === threadId);
}

export function threadSocket(threadId: string, token: string): Promise<TestSocket> {
  return connect(`/ws/threads/${threadId}`, token);
}

export function messageEvent(ws: TestSocket, id: number) {
  return ws.next(
    (f) => f?.event === "message_created_or_updated" && f.data?.message?.id === id,
    `message_created_or_updated for message ${id}`,
  );
}
