import { abortAllDurableObjects } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { notFound, toApiError } from "../../src/platform/errors";
import { asResult } from "../../src/realtime/rpc-result";
import { call, tokenFor } from "../helpers/http";
import { ResumingSocket, seqGaps } from "../helpers/reliability/resuming-socket";
import { figure, sized } from "../helpers/reliability/soak";

/**
 * Eviction of a thread room in the middle of a message burst (contract §2, §7). Clients retry
 * a post that failed with the same `Idempotency-Key`, as the SDK conventions ask. Every message
 * is then stored exactly once, and every member's socket, resuming with `?since=`, receives
 * exactly the stored messages 1..head in the thread's stored order: a post cut off between its
 * D1 write and its publish is published when the room runs again, and its retry answers the
 * stored message instead of storing it twice.
 */

const MEMBERS = sized(4, 6);
const MESSAGES_EACH = sized(10, 30);
const TRIES = 20;
const EVENT = "message_created_or_updated";

async function setup() {
  const u = crypto.randomUUID().slice(0, 8);
  const members = await Promise.all(
    Array.from({ length: MEMBERS }, async (_, i) => {
      const id = `m${i}-${u}`;
      return { id, token: await tokenFor(id, [], { name: `Member ${i}` }), acked: [] as number[] };
    }),
  );
  const [creator, ...rest] = members;
  const created = await call("POST", "/api/threads", {
    token: creator?.token,
    body: { title: "Burst", type: "chat", members: rest.map((m) => ({ user_id: m.id })) },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const threadId = created.body.id as string;
  const sockets = members.map(
    (m) => new ResumingSocket((c) => `/ws/threads/${threadId}?since=${c.lastSeq}`, m.token),
  );
  return { threadId, members, sockets };
}

/** Every message of the thread over REST (newest first there), oldest first. */
async function listed(threadId: string, token: string): Promise<{ id: number; text: string }[]> {
  const out: { id: number; text: string }[] = [];
  for (let offset: number | null = 0; offset !== null; ) {
    const res = await call("GET", `/api/threads/${threadId}/messages?limit=200&offset=${offset}`, {
      token,
    });
    expect(res.status).toBe(200);
    out.push(...res.body.results);
    offset = res.body.next;
  }
  return out.reverse();
}

afterEach(() => ResumingSocket.closeAll());

describe("faults: thread room evicted during a message burst", () => {
  it("stores and shows every message exactly once, in order, when clients retry with their key", async () => {
    const { threadId, members, sockets } = await setup();
    await Promise.all(sockets.map((s) => s.open()));

    let acked = 0;
    let evicted = false;
    const failed: number[] = [];
    const total = MEMBERS * MESSAGES_EACH;
    await Promise.all(
      members.map(async (member, i) => {
        for (let k = 0; k < MESSAGES_EACH; k++) {
          const key = crypto.randomUUID();
          for (let attempt = 1; ; attempt++) {
            const res = await call("POST", `/api/threads/${threadId}/messages`, {
              token: member.token,
              body: { text: `from ${i} number ${k}` },
              headers: { "Idempotency-Key": key },
            });
            if (res.status === 201) {
              member.acked.push(res.body.id);
              acked++;
              break;
            }
            failed.push(res.status);
            expect(attempt, `post ${i}/${k}: ${res.status}`).toBeLessThan(TRIES);
          }
          if (!evicted && acked >= total / 2) {
            evicted = true;
            await abortAllDurableObjects();
          }
        }
      }),
    );
    expect(evicted).toBe(true);
    // A failed attempt may only be the eviction itself, answered as the contract's 500.
    expect(failed.every((s) => s === 500)).toBe(true);

    const stored = await listed(threadId, members[0]?.token as string);
    const storedIds = stored.map((m) => m.id);
    expect(stored.length).toBe(total);
    expect(new Set(stored.map((m) => m.text)).size).toBe(total);
    const ackedIds = members.flatMap((m) => m.acked);
    expect([...ackedIds].sort((a, b) => a - b)).toEqual(storedIds);

    // The thread's stream holds nothing but its messages: head = number of messages.
    let silent = 0;
    for (const [i, socket] of sockets.entries()) {
      await socket.until(total);
      socket.close();
      expect(seqGaps(socket.stream, 1, total), `member ${i}`).toBeNull();
      expect(socket.connections).toBeGreaterThan(1);
      const shown = socket.stream.filter((f) => f.event === EVENT).map((f) => f.data.message.id);
      silent = Math.max(silent, storedIds.filter((id) => !shown.includes(id)).length);
      expect(shown, `member ${i}`).toEqual(storedIds);
    }

    figure("faults.threads.messages_sent", total);
    figure("faults.threads.attempts_failed_and_retried", failed.length);
    figure("faults.threads.messages_acknowledged", acked);
    figure("faults.threads.messages_stored", stored.length);
    figure("faults.threads.stored_without_event", silent);
    figure("faults.threads.lost_or_duplicated", 0);
  });

  it("lets a reset's error fail the RPC instead of answering it as a result", async () => {
    const reset = new Error("Durable Object reset because its code was updated.");
    await expect(
      asResult(
        () => Promise.reject(reset),
        () => toApiError(reset),
      ),
    ).rejects.toBe(reset);
    expect(await asResult(() => Promise.reject(notFound("Thread")))).toMatchObject({
      ok: false,
      error: { code: "not_found" },
    });
  });
});
