import { type MemberStateHooks, registerMemberStateHooks } from "./member-state";
import type { ThreadService } from "./service";

/** The part of the thread room an extension's scheduled work needs: its meta row and its alarm. */
export interface RestartClock {
  meta(key: string): string | null;
  setMeta(key: string, value: string): void;
  /** Makes the room's alarm fire no later than `at` (ms). */
  wakeBy(at: number): Promise<void>;
}

/** Scheduled work an extension runs inside the thread room (scripted repeats). */
export interface ScheduledRestarts {
  /** When the room must wake (the base room's `nextAlarmAt`), or null. */
  alarmAt(clock: Pick<RestartClock, "meta">): number | null;
  /** After an operation: remember the earliest due time and wake for it. */
  plan(svc: ThreadService, clock: RestartClock): Promise<void>;
  /** The alarm: run what is due, then plan the next wake-up. */
  runDue(svc: ThreadService, clock: RestartClock): Promise<void>;
}

/**
 * What a feature built on threads plugs into them (automated conversations). Threads do not
 * import their extensions: the composition root (`src/rooms.ts`) registers each one once.
 */
export interface ThreadExtension {
  hooks: MemberStateHooks;
  restarts?: ScheduledRestarts;
}

const extensions = new Set<ThreadExtension>();
let restarts: ScheduledRestarts | null = null;

/** Registers an extension (a second registration of the same object does nothing). */
export function extendThreads(extension: ThreadExtension): void {
  if (extensions.has(extension)) return;
  if (extension.restarts && restarts) {
    throw new Error("threads take one scheduled-restarts extension");
  }
  extensions.add(extension);
  registerMemberStateHooks(extension.hooks);
  if (extension.restarts) restarts = extension.restarts;
}

/** The registered scheduled work, or null when no extension brings any. */
export function scheduledRestarts(): ScheduledRestarts | null {
  return restarts;
}
