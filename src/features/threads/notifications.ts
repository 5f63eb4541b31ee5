/** Member notification flags (bits, as the chat API stores them). */
export const NOTIFICATION_FLAGS = { unread: 1, ws: 2, push: 4 } as const;

export type NotificationFlag = keyof typeof NOTIFICATION_FLAGS;

export const NOTIFICATION_NAMES = Object.keys(NOTIFICATION_FLAGS) as [
  NotificationFlag,
  ...NotificationFlag[],
];

export function notificationBits(names: readonly NotificationFlag[]): number {
  return names.reduce((bits, n) => bits | NOTIFICATION_FLAGS[n], 0);
}

export function notificationNames(bits: number): NotificationFlag[] {
  return NOTIFICATION_NAMES.filter((n) => (bits & NOTIFICATION_FLAGS[n]) !== 0);
}

export function hasFlag(bits: number, flag: NotificationFlag): boolean {
  return (bits & NOTIFICATION_FLAGS[flag]) !== 0;
}
