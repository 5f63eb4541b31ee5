import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect, vi } from "vitest";

/** The default of `POKER_LEAVE_GRACE_SECONDS` (wrangler.toml), which the tests run with. */
export const GRACE_MS = 30_000;

/** Users in their leave grace, as the room has stored them. */
export async function inGrace(stub: DurableObjectStub): Promise<string[]> {
  return runInDurableObject(stub, (_room, state) =>
    state.storage.sql
      .exec<{ user_id: string }>(
        "SELECT user_id FROM presence_users WHERE grace_until IS NOT NULL ORDER BY user_id",
      )
      .toArray()
      .map((r) => r.user_id),
  );
}

/** Waits until the room has handled a leave by putting `userId` in grace. */
export async function waitInGrace(stub: DurableObjectStub, userId: string): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!(await inGrace(stub)).includes(userId)) throw new Error(`${userId} not in grace yet`);
    },
    { timeout: 10_000, interval: 50 },
  );
}

/** Moves the room's clock past the leave grace and runs its alarm (it must have one set). */
export async function runAlarmPastGrace(stub: DurableObjectStub, extraMs = 1_000): Promise<void> {
  vi.useFakeTimers({ toFake: ["Date"] });
  try {
    vi.setSystemTime(Date.now() + GRACE_MS + extraMs);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
  } finally {
    vi.useRealTimers();
  }
}

/** The poker room of a session, for driving its alarm and reading its storage. */
export function pokerStub(sessionId: string): DurableObjectStub {
  return env.POKER_ROOM.get(env.POKER_ROOM.idFromName(sessionId));
}
