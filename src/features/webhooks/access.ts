import type { Caller } from "../../platform/auth/caller";
import { isBuiltinEventType } from "./registry";

/**
 * Who may subscribe to which event type, and which events a hook may carry.
 *
 * Built-in types (the ones the system emits itself) carry many users' private data: thread
 * messages, notifications, state changes. Only the admin subscribes to them, and only the admin's
 * own hooks receive them, whatever glob a client holds. App types are open to the admin and to
 * a client token or API key holding `webhooks.subscribe:<glob>` whose glob matches the type.
 */

/** The `owner` of the admin's hooks (a user's hooks are `user:<id>`). */
export const ADMIN_OWNER = "admin";

const SUBSCRIBE_PREFIX = "webhooks.subscribe:";

/**
 * Whether `glob` matches the whole of `text`. `*` matches any run of characters (none
 * included); every other character matches only itself. Greedy with one backtrack point, so
 * the time is at most length × length even for globs full of `*` (a regex could explode).
 */
export function globMatches(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (g < glob.length && glob[g] === "*") {
      star = g++;
      resume = t;
    } else if (g < glob.length && glob[g] === text[t]) {
      g++;
      t++;
    } else if (star >= 0) {
      g = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === "*") g++;
  return g === glob.length;
}

/** Whether `caller` may subscribe a hook to the event type `name`. */
export function maySubscribe(caller: Caller, name: string): boolean {
  if (caller.kind === "admin") return true;
  if (caller.kind !== "user" || isBuiltinEventType(name)) return false;
  return caller.permissions.some(
    (p) => p.startsWith(SUBSCRIBE_PREFIX) && globMatches(p.slice(SUBSCRIBE_PREFIX.length), name),
  );
}

/**
 * Why `hook` must not carry an event of `eventType`, or null when it may. Emitting applies the
 * same rule in SQL (`recordEvents`); this catches what was stored before: a delivery made before
 * the hook's type was changed, or a user's hook on a built-in type created before only the
 * admin could subscribe to them.
 */
export function refusalToCarry(
  hook: { owner: string; eventType: string },
  eventType: string,
): string | null {
  if (hook.eventType !== eventType) return "The webhook is now subscribed to another event type";
  if (hook.owner !== ADMIN_OWNER && isBuiltinEventType(eventType)) {
    return "Only the admin's hooks receive built-in event types";
  }
  return null;
}
