import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { liveKeyIds } from "../src/auth/api-keys";
import { getDb } from "../src/db/client";
import { insertApiKey } from "../src/db/queries/api-keys";

/** A key row straight in D1, for checks that need a state the routes reach only with time. */
async function keyRow(overrides: { expiresAt?: number | null; revokedAt?: number | null } = {}) {
  const id = crypto.randomUUID();
  await insertApiKey(getDb(env.DB), {
    id,
    name: "row",
    userId: "u-row",
    userName: "Row",
    permissions: [],
    keyHash: crypto.randomUUID(),
    createdAt: Date.now(),
    expiresAt: overrides.expiresAt ?? null,
    lastUsedAt: null,
    revokedAt: overrides.revokedAt ?? null,
  });
  return id;
}

describe("liveKeyIds", () => {
  it("keeps the ids of keys that exist, are not revoked and not expired", async () => {
    const live = await keyRow();
    const liveUntilLater = await keyRow({ expiresAt: Date.now() + 60_000 });
    const expired = await keyRow({ expiresAt: Date.now() - 1 });
    const revoked = await keyRow({ revokedAt: Date.now() - 1 });
    const unknown = crypto.randomUUID();
    const result = await liveKeyIds(env, [live, liveUntilLater, expired, revoked, unknown, live]);
    expect([...result].sort()).toEqual([live, liveUntilLater].sort());
  });

  it("answers for more ids than D1 binds parameters in one statement", async () => {
    const live = await keyRow();
    const ids = [...Array.from({ length: 250 }, () => crypto.randomUUID()), live];
    expect([...(await liveKeyIds(env, ids))]).toEqual([live]);
    expect((await liveKeyIds(env, [])).size).toBe(0);
  });
});
