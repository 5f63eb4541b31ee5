import { describe, expect, it } from "vitest";
import { ADMIN, call, tokenFor } from "../../helpers/http";
import { connect } from "../../helpers/ws";

/** A poker room replays `?since=` in each socket's own view; `?batch=1` gets them as one array. */
describe("poker room with ?batch=1", () => {
  it("sends a ?since= replay of several events as one array, in seq order", async () => {
    const session = (
      await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name: "Batch" } })
    ).body;
    for (const story_label of ["S1", "S2"]) {
      await call("POST", `/api/poker/sessions/${session.id}/stories`, {
        token: ADMIN,
        body: { story_label },
      });
    }
    const u = crypto.randomUUID().slice(0, 8);
    const mod = await tokenFor(`mod-${u}`, ["planning_poker.moderate"], { name: "Mona" });
    const adam = await tokenFor(`adam-${u}`, ["planning_poker.vote"], { name: "Adam" });
    const spectator = await tokenFor(`spec-${u}`, [], { name: "Sam" });
    const path = `/ws/poker/${session.id}`;
    const moderator = await connect(path, mod);
    const voter = await connect(path, adam);
    await moderator.request("next_story_requested", {});
    await voter.request("vote_submitted", { choice: "5" });
    await moderator.event("story_changed");

    const replay = await connect(`${path}?since=0&batch=1`, spectator);
    const array = await replay.next(
      (f) => typeof f === "string" && f.startsWith("["),
      "the replay as one array",
    );
    const frames = JSON.parse(array);
    const seqs = frames.filter((f: any) => f.seq !== undefined).map((f: any) => f.seq);
    expect(seqs.length).toBeGreaterThan(1);
    expect(seqs).toEqual([...seqs].sort((a: number, b: number) => a - b));
    expect(frames.some((f: any) => f.event === "story_changed")).toBe(true);
    for (const ws of [moderator, voter, replay]) ws.close();
  });
});
