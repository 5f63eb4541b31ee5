import { abortAllDurableObjects, env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { graceMsOf as leaveGraceMs } from "../../../src/realtime/presence";
import { ADMIN, call, tokenFor } from "../../helpers/http";
import { connect } from "../../helpers/ws";
import { GRACE_MS, inGrace, pokerStub, runAlarmPastGrace, waitInGrace } from "./support";

const MODERATE = "planning_poker.moderate";
const VOTE = "planning_poker.vote";

/** A session with an active story, a moderator and two voters connected. */
async function setup() {
  const session = (
    await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name: "Grace" } })
  ).body;
  await call("POST", `/api/poker/sessions/${session.id}/stories`, {
    token: ADMIN,
    body: { story_label: "S1" },
  });
  const u = crypto.randomUUID().slice(0, 8);
  const ids = { mod: `mod-${u}`, zoe: `zoe-${u}`, adam: `adam-${u}` };
  const tokens = {
    mod: await tokenFor(ids.mod, [MODERATE], { name: "Mona" }),
    zoe: await tokenFor(ids.zoe, [VOTE], { name: "Zoe" }),
    adam: await tokenFor(ids.adam, [VOTE], { name: "Adam" }),
  };
  const path = `/ws/poker/${session.id}`;
  const open = (who: keyof typeof tokens) => connect(path, tokens[who]);
  const mod = await open("mod");
  const zoe = await open("zoe");
  const adam = await open("adam");
  await mod.request("next_story_requested", {});
  await zoe.event("story_changed");
  await adam.event("story_changed");
  for (const ws of [mod, zoe, adam]) {
    await ws.next(
      (f) => f?.event === "participants_changed" && f.data.participants.length === 3,
      "all three listed",
    );
    ws.frames.length = 0;
  }
  return { session, ids, open, mod, zoe, adam, stub: pokerStub(session.id) };
}

const names = (frame: any) => frame.data.participants.map((p: any) => p.name);
const participantRows = async (sessionId: string) =>
  (
    await env.DB.prepare(
      "SELECT user_id FROM poker_participants WHERE session_id = ? ORDER BY user_id",
    )
      .bind(sessionId)
      .all<{ user_id: string }>()
  ).results.map((r) => r.user_id);

describe("poker presence grace", () => {
  it("a voter's reload while another has voted never reveals the votes", async () => {
    const { open, ids, zoe, adam, mod, stub } = await setup();
    await zoe.request("vote_submitted", { choice: "5" });
    await mod.event("story_changed");
    adam.close();
    await waitInGrace(stub, ids.adam);
    // Still present for the auto-reveal: no reveal, no leave.
    await zoe.nothing(
      (f) =>
        f?.event === "participants_changed" || (f?.event === "story_changed" && f.data.revealed),
    );
    const reloaded = await open("adam");
    const own = await reloaded.event("story_changed");
    expect(own.data.revealed).toBe(false);
    expect(await inGrace(stub)).toEqual([]);
    // The grace that was running is over, and nothing happens when its time comes.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + GRACE_MS + 1_000);
      await runDurableObjectAlarm(stub);
    } finally {
      vi.useRealTimers();
    }
    await zoe.nothing(
      (f) =>
        f?.event === "participants_changed" || (f?.event === "story_changed" && f.data.revealed),
    );
    expect(names(await reloaded.event("participants_changed"))).toEqual(["Adam", "Mona", "Zoe"]);
    for (const ws of [mod, zoe, reloaded]) ws.close();
  });

  it("a voter gone past the grace leaves: participants_changed, then the auto-reveal", async () => {
    const { ids, zoe, adam, mod, stub, session } = await setup();
    await zoe.request("vote_submitted", { choice: "8" });
    adam.close();
    await waitInGrace(stub, ids.adam);
    expect(await participantRows(session.id)).toContain(ids.adam);
    await runAlarmPastGrace(stub);
    expect(names(await mod.event("participants_changed"))).toEqual(["Mona", "Zoe"]);
    const shown = await zoe.next((f) => f?.event === "story_changed" && f.data.revealed, "reveal");
    expect(shown.data.votes).toEqual({ "8": [{ id: ids.zoe, name: "Zoe" }] });
    expect(await participantRows(session.id)).not.toContain(ids.adam);
    expect(await inGrace(stub)).toEqual([]);
    for (const ws of [mod, zoe]) ws.close();
  });

  it("keeps who is in grace across an eviction and drops them from the alarm", async () => {
    const { ids, zoe, adam, mod, stub, session } = await setup();
    adam.close();
    await waitInGrace(stub, ids.adam);
    await abortAllDurableObjects();
    await zoe.waitClosed();
    const rebuilt = pokerStub(session.id);
    expect(await inGrace(rebuilt)).toEqual([ids.adam]);
    await runAlarmPastGrace(rebuilt);
    // Adam's grace is over; the sockets the eviction dropped put Mona and Zoe in theirs.
    expect(await inGrace(rebuilt)).toEqual([ids.mod, ids.zoe].sort());
    expect(await participantRows(session.id)).not.toContain(ids.adam);
    for (const ws of [mod, zoe]) ws.close();
  });

  it("a socket the server drops (idle) leaves at once, without a grace", async () => {
    const { zoe, mod, adam, stub } = await setup();
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 61_000);
      expect((await mod.request("heartbeat", {})).status).toBe(200);
      expect((await zoe.request("heartbeat", {})).status).toBe(200);
      expect(await runDurableObjectAlarm(stub)).toBe(true);
    } finally {
      vi.useRealTimers();
    }
    expect((await adam.waitClosed()).code).toBe(4000);
    expect(names(await mod.event("participants_changed"))).toEqual(["Mona", "Zoe"]);
    expect(await inGrace(stub)).toEqual([]);
    for (const ws of [mod, zoe]) ws.close();
  });

  it("reads POKER_LEAVE_GRACE_SECONDS: seconds ≥ 0, else the default of 30", () => {
    expect(env.POKER_LEAVE_GRACE_SECONDS).toBe("30");
    expect(leaveGraceMs("5")).toBe(5_000);
    expect(leaveGraceMs("0")).toBe(0);
    for (const bad of [undefined, "", "-1", "soon", "Infinity"]) {
      expect(leaveGraceMs(bad)).toBe(30_000);
    }
  });
});
