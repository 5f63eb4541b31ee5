import { type MemberPermission, PERMISSION_NAMES } from "../../protocol/threads-rest";

export { type MemberPermission, PERMISSION_NAMES };

/** Member permission bits, with the chat API's names and values (stored as an integer). */
export const MEMBER_PERMISSIONS = {
  messages_read: 1,
  messages_create: 2,
  messages_edit: 4,
  messages_delete: 8,
  thread_read: 16,
  thread_edit: 32,
  thread_delete: 64,
  add_user: 128,
  remove_user: 256,
  control_others: 512,
  break_state: 1024,
  rollback: 2048,
  reopen: 4096,
} as const satisfies Record<MemberPermission, number>;

/** Every bit: what the admin token holds in any thread. */
export const ALL_PERMISSIONS = PERMISSION_NAMES.reduce(
  (bits, n) => bits | MEMBER_PERMISSIONS[n],
  0,
);

/** What an observer holds: a closed, read-only view. */
export const OBSERVER_PERMISSIONS =
  MEMBER_PERMISSIONS.messages_read | MEMBER_PERMISSIONS.thread_read;

export function permissionBits(names: readonly MemberPermission[]): number {
  return names.reduce((bits, n) => bits | MEMBER_PERMISSIONS[n], 0);
}

export function permissionNames(bits: number): MemberPermission[] {
  return PERMISSION_NAMES.filter((n) => (bits & MEMBER_PERMISSIONS[n]) !== 0);
}

export function hasBit(bits: number, permission: MemberPermission): boolean {
  return (bits & MEMBER_PERMISSIONS[permission]) !== 0;
}

/** The bits of `wanted` that `grantor` does not hold and `current` did not already have. */
export function ungrantable(wanted: number, grantor: number, current = 0): MemberPermission[] {
  return permissionNames(wanted & ~current & ~grantor);
}
