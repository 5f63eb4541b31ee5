import { logger } from "../../platform/log";
import { publishToBus } from "../bus";

/**
 * Tells each user's bus channel (`user:<id>`, namespace `settings.busDb`) its new unread count
 * for a thread, so an app can keep badges for every thread with one long poll or socket.
 * A failing nudge is logged, never an error of the chat call: the message is already stored.
 */
export async function nudgeUnread(
  env: Env,
  busDb: string,
  threadId: string,
  counts: Iterable<[userId: string, unread: number]>,
): Promise<void> {
  const sends = [...counts].map(([userId, unread]) =>
    publishToBus(env, busDb, `user:${userId}`, {
      type: "thread_unread",
      thread_id: threadId,
      unread_count: unread,
    }),
  );
  for (const result of await Promise.allSettled(sends)) {
    if (result.status === "rejected") {
      logger.error(`Thread ${threadId}: unread nudge failed`, {
        event: "thread.nudge_failed",
        error: result.reason,
      });
    }
  }
}
