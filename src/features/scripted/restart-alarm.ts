import * as time from "../../platform/time";
import type { RestartClock, ScheduledRestarts, ThreadService } from "../threads";
import { restartDue, restartsChanged } from "./engine";
import { earliestRestart } from "./queries";

const META_KEY = "scripted_next_restart";

/** When the room must wake for a scheduled repeat (the base room's `nextAlarmAt`). */
export function restartAlarmAt(clock: Pick<RestartClock, "meta">): number | null {
  const at = clock.meta(META_KEY);
  return at ? Date.parse(at) : null;
}

/** After an operation that set or cleared a restart: remember the earliest and wake for it. */
export async function planRestarts(svc: ThreadService, clock: RestartClock): Promise<void> {
  if (!restartsChanged(svc)) return;
  const at = await earliestRestart(svc.db, svc.threadId);
  clock.setMeta(META_KEY, at ?? "");
  if (at) await clock.wakeBy(Date.parse(at));
}

/** The alarm: restart every member that is due, then plan the next wake-up. */
export async function runDueRestarts(svc: ThreadService, clock: RestartClock): Promise<void> {
  const due = restartAlarmAt(clock);
  if (due === null || due > time.now()) return;
  await restartDue(svc, time.nowDate(), svc.caller);
  const at = await earliestRestart(svc.db, svc.threadId);
  clock.setMeta(META_KEY, at ?? "");
}

/** The scheduled repeats, as the thread room runs them (registered by `src/rooms.ts`). */
export const scriptedRestarts: ScheduledRestarts = {
  alarmAt: restartAlarmAt,
  plan: planRestarts,
  runDue: runDueRestarts,
};
