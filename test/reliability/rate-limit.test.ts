import { describe, expect, it } from "vitest";
import { ADMIN } from "../helpers/http";
import { api, expectFrameError } from "../helpers/reliability/support";
import { user } from "../helpers/reliability/world";
import { connect } from "../helpers/ws";

/**
 * The frame rate limit (50 frames/s sustained per socket, contract §2): a flood gets 429
 * replies in the contract's shape, the socket stays open, a refused frame changes nothing, and
 * the socket works again once it slows down. HTTP calls have their own limit: http-rate-limit.
 */

const FLOOD = 250;

async function flood(path: string, token: string, frame: (i: number) => unknown) {
  const ws = await connect(path, token);
  for (let i = 0; i < FLOOD; i++) ws.send(frame(i));
  const replies = await Promise.all(
    Array.from({ length: FLOOD }, (_, i) => ws.reply(`f-${i}`, 10_000)),
  );
  return { ws, replies };
}

describe("the frame rate limit", () => {
  it("answers a flood with 429s, stores only what it accepted, and recovers", async () => {
    const owner = await user("flooder");
    const path = `/ws/test/${crypto.randomUUID()}`;
    const { ws, replies } = await flood(path, owner.token, (i) => ({
      event: "increment",
      data: { by: 1 },
      request_id: `f-${i}`,
    }));
    const accepted = replies.filter((r) => r.status === 200);
    const limited = replies.filter((r) => r.status === 429);
    expect(accepted.length + limited.length).toBe(FLOOD);
    expect(limited.length).toBeGreaterThan(0);
    for (const r of limited) expectFrameError(r, "429");
    expect(ws.closed).toBeNull();
    // Only accepted frames counted: the counter is exactly their number.
    expect(Math.max(...accepted.map((r) => r.data.count))).toBe(accepted.length);
    await new Promise((r) => setTimeout(r, 1_100));
    const after = await ws.request("increment", { by: 1 });
    expect(after).toMatchObject({ status: 200, data: { count: accepted.length + 1 } });
    ws.close();
  });

  it("gives each socket its own budget: a flooding socket does not limit its neighbour", async () => {
    const session = await api("POST", "/api/poker/sessions", {
      token: ADMIN,
      body: { name: "Flood" },
    });
    const path = `/ws/poker/${session.body.id}`;
    const voter = await user("voter", ["planning_poker.vote"]);
    const { ws, replies } = await flood(path, voter.token, (i) => ({
      event: "heartbeat",
      data: {},
      request_id: `f-${i}`,
    }));
    expect(replies.some((r) => r.status === 429)).toBe(true);
    const neighbour = await connect(path, (await user("calm")).token);
    expect((await neighbour.request("heartbeat", {})).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await ws.request("heartbeat", {})).status).toBe(200);
    ws.close();
    neighbour.close();
  });
});
