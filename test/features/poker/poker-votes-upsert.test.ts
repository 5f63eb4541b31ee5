import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { listVotes, upsertVotes } from "../../../src/features/poker/queries";
import { getDb } from "../../../src/platform/db";
import { ADMIN, call } from "../../helpers/http";

async function story(): Promise<string> {
  const session = (
    await call("POST", "/api/poker/sessions", { token: ADMIN, body: { name: "Upserts" } })
  ).body;
  return (
    await call("POST", `/api/poker/sessions/${session.id}/stories`, {
      token: ADMIN,
      body: { story_label: "S1" },
    })
  ).body.id;
}

const votes = (n: number, choice: (i: number) => string) =>
  Array.from({ length: n }, (_, i) => ({
    userId: `u${i}`,
    userName: `User ${i}`,
    choice: choice(i),
  }));

// A batch of votes is stored as multi-row statements of at most 20 rows (D1 binds at most 100
// parameters per statement): more than one statement's worth, and a second vote replaces the first.
describe("poker votes: a batch of votes in few statements", () => {
  it("stores 45 votes at once, then replaces every choice and name in a second batch", async () => {
    const db = getDb(env.DB);
    const id = await story();
    await upsertVotes(
      db,
      id,
      votes(45, () => "3"),
    );
    expect(await listVotes(db, id)).toHaveLength(45);

    await upsertVotes(
      db,
      id,
      votes(45, (i) => (i % 2 ? "5" : "8")).map((v) => ({ ...v, userName: `${v.userName}!` })),
      true,
    );
    const stored = await listVotes(db, id);
    expect(stored).toHaveLength(45);
    expect(new Set(stored.map((v) => v.userId)).size).toBe(45);
    for (const v of stored) {
      const i = Number(v.userId.slice(1));
      expect(v.choice).toBe(i % 2 ? "5" : "8");
      expect(v.userName).toBe(`User ${i}!`);
    }
    const row = await env.DB.prepare("SELECT revealed FROM poker_stories WHERE id = ?")
      .bind(id)
      .first<{ revealed: number }>();
    expect(row?.revealed).toBe(1);
  });
});
