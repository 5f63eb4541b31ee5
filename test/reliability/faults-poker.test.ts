import { abortAllDurableObjects, env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN, call, tokenFor } from "../helpers/http";
import { type Frame, ResumingSocket, seqGaps } from "../helpers/reliability/resuming-socket";
import { figure, sized } from "../helpers/reliability/soak";

/**
 * Eviction of the poker room in the middle of a vote burst (contract §2, §3): every vote
 * acknowledged with a 200 is stored once, and the stream shows each voter's votes in order and
 * ends with the stored one; every client that resumes with `?since=` sees the room's whole
 * ordered stream, nothing missing, nothing twice.
 */

const VOTERS = sized(10, 20);
const VOTES_EACH = sized(12, 30);
const CHOICES = Array.from({ length: 50 }, (_, i) => `c${i}`);
/** Vote k of a voter: consecutive votes differ, so each one is a visible change. */
const choiceOf = (k: number) => CHOICES[k % CHOICES.length] as string;

async function setup() {
  const session = await call("POST", "/api/poker/sessions", {
    token: ADMIN,
    body: { name: "Faults", choices: CHOICES },
  });
  const id = session.body.id as string;
  await call("POST", `/api/poker/sessions/${id}/stories`, {
    token: ADMIN,
    body: { story_label: "Burst" },
  });
  const u = crypto.randomUUID().slice(0, 8);
  const client = (token: string) =>
    new ResumingSocket((c) => `/ws/poker/${id}?since=${c.lastSeq}`, token);
  const moderator = client(await tokenFor(`mod-${u}`, ["planning_poker.moderate"]));
  const voters = await Promise.all(
    Array.from({ length: VOTERS }, async (_, v) => ({
      id: `voter-${v}-${u}`,
      socket: client(await tokenFor(`voter-${v}-${u}`, ["planning_poker.vote"])),
      acked: [] as number[],
    })),
  );
  return { id, moderator, voters };
}

/** Each voter's choice in every `story_changed` (moderators see all votes), runs collapsed. */
function timelines(stream: Frame[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const frame of stream) {
    if (frame.event !== "story_changed") continue;
    for (const [choice, users] of Object.entries(frame.data.votes as Record<string, any[]>)) {
      for (const user of users) {
        const line = out.get(user.id) ?? [];
        if (line.at(-1) !== choice) line.push(choice);
        out.set(user.id, line);
      }
    }
  }
  return out;
}

/** Maps a collapsed timeline onto the votes sent (in order); null if it shows a vote never sent. */
function sentIndexes(timeline: string[], sent: number): number[] | null {
  const indexes: number[] = [];
  let k = 0;
  for (const choice of timeline) {
    while (k < sent && choiceOf(k) !== choice) k++;
    if (k >= sent) return null;
    indexes.push(k++);
  }
  return indexes;
}

afterEach(() => ResumingSocket.closeAll());

describe("faults: poker room evicted during a vote burst", () => {
  it("loses no acknowledged vote, duplicates none, and every client resumes gap-free", async () => {
    const { id, moderator, voters } = await setup();
    await moderator.open();
    expect((await moderator.request("next_story_requested", {}))?.status).toBe(200);
    await Promise.all(voters.map((v) => v.socket.open()));

    let acked = 0;
    let evictedAt = -1;
    const total = VOTERS * VOTES_EACH;
    await Promise.all(
      voters.map(async (voter) => {
        for (let k = 0; k < VOTES_EACH; k++) {
          const reply = await voter.socket.request("vote_submitted", { choice: choiceOf(k) });
          if (reply?.status === 200) {
            voter.acked.push(k);
            acked++;
          } else if (reply) {
            throw new Error(`vote refused: ${JSON.stringify(reply)}`);
          }
          if (evictedAt < 0 && acked >= total / 2) {
            evictedAt = acked;
            await abortAllDurableObjects();
          }
        }
      }),
    );
    expect(evictedAt).toBeGreaterThan(0);

    // Vote progress is paced (at most one frame per 2 s): let the last one go out first.
    await new Promise((r) => setTimeout(r, 2_100));
    // The authority: the whole stream as a fresh client replays it from the start.
    const fresh = new ResumingSocket(() => `/ws/poker/${id}?since=0`, ADMIN);
    await fresh.open();
    await new Promise((r) => setTimeout(r, 200));
    const head = fresh.lastSeq;
    fresh.close();
    expect(seqGaps(fresh.stream, 1, head)).toBeNull();

    for (const client of [moderator, ...voters.map((v) => v.socket)]) {
      await client.until(head);
      expect(seqGaps(client.stream, 1, head)).toBeNull();
      client.close();
    }
    expect(moderator.stream).toEqual(fresh.stream);
    expect(moderator.connections).toBeGreaterThan(1);

    const seen = timelines(moderator.stream);
    const stored = await env.DB.prepare(
      "SELECT v.user_id AS user, v.choice AS choice, COUNT(*) AS n FROM poker_votes v JOIN poker_sessions s ON s.active_story_id = v.story_id WHERE s.id = ? GROUP BY v.user_id",
    )
      .bind(id)
      .all<{ user: string; choice: string; n: number }>();
    const storedBy = new Map(stored.results.map((r) => [r.user, r]));
    for (const voter of voters) {
      const line = seen.get(voter.id) ?? [];
      const shown = sentIndexes(line, VOTES_EACH);
      expect(shown, `${voter.id} shows a vote it never sent: ${line}`).not.toBeNull();
      // Vote progress is paced (docs/poker.md): a voter's votes within one interval share a
      // frame, so the stream shows each voter's votes in order and ends with its latest one.
      const lastAcked = voter.acked.at(-1);
      if (lastAcked !== undefined) {
        expect(
          shown?.at(-1),
          `${voter.id}: its last acknowledged vote is never shown`,
        ).toBeGreaterThanOrEqual(lastAcked);
      }
      // One stored vote per voter, the one the stream shows last.
      expect(storedBy.get(voter.id)).toMatchObject({ n: 1, choice: line.at(-1) });
    }

    figure("faults.poker.votes_sent", total);
    figure("faults.poker.votes_acknowledged", acked);
    figure("faults.poker.stream_events", head);
    figure("faults.poker.lost_or_duplicated", 0);
  });
});
