import { NOTIFICATION_NAMES, type NotificationFlag } from "../../protocol/threads-rest";

export { NOTIFICATION_NAMES, type NotificationFlag };

/** Member notification flags (bits, as the chat API stores them). */
export const NOTIFICATION_FLAGS = { unread: 1, ws: 2, push: 4 } as const satisfies Record<
  NotificationFlag,
  number
>;

export function notificationBits(names: readonly NotificationFlag[]): number {
  return names.reduce((bits, n) => bits | NOTIFICATION_FLAGS[n], 0);
}

export function notificationNames(bits: number): NotificationFlag[] {
  return NOTIFICATION_NAMES.filter((n) => (bits & NOTIFICATION_FLAGS[n]) !== 0);
}

export function hasFlag(bits: number, flag: NotificationFlag): boolean {
  return (bits & NOTIFICATION_FLAGS[flag]) !== 0;
}
