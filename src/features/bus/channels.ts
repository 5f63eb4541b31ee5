import { z } from "zod";
import type { Caller } from "../../platform/auth/caller";
import { badRequest, forbidden, unauthorized } from "../../platform/errors";

/** `:db` is a namespace name (contract §4). */
export const DbName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 characters of A-Z a-z 0-9 _ -");

/**
 * A channel name: no whitespace and no comma, because clients send lists of them comma-separated
 * in WebSocket and SSE query strings. Between the Worker and the namespace's object lists travel
 * as arrays, never as joined text.
 */
export const ChannelName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\s,]+$/, "must not contain whitespace or commas");

/** At most this many channels in one poll, socket or stream. */
export const MAX_CHANNELS = 100;

export const ChannelList = z.array(ChannelName).max(MAX_CHANNELS);

const LISTEN_PREFIX = "bus.listen:";

/** Channels written only by `notify` (admin): a publish cannot fake a notification. */
const RESERVED_PREFIXES = ["user:", "client:"];

export function isReservedChannel(channel: string): boolean {
  return RESERVED_PREFIXES.some((prefix) => channel.startsWith(prefix));
}

/** `*` matches any run of characters; everything else is literal. */
export function globMatches(glob: string, channel: string): boolean {
  const pattern = glob
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${pattern}$`).test(channel);
}

function mayListen(permissions: string[], channel: string): boolean {
  if (channel.startsWith("client:")) return true;
  return permissions.some(
    (p) => p.startsWith(LISTEN_PREFIX) && globMatches(p.slice(LISTEN_PREFIX.length), channel),
  );
}

/**
 * The channels a caller listens to, checked before anything waits.
 * As in Tryton, a client's `user:*` channels are dropped and `user:<own id>` is always added;
 * `client:<id>` is open to anyone who names it; other channels need a `bus.listen:<glob>`
 * permission. The admin token listens to exactly the channels it names, any of them.
 */
export function listenChannels(caller: Caller, requested: string[]): string[] {
  if (caller.kind === "anonymous") throw unauthorized();
  if (caller.kind === "admin") {
    const channels = [...new Set(requested)];
    if (!channels.length) throw badRequest("Name at least one channel", { channels: ["REQUIRED"] });
    return channels;
  }
  const own = `user:${caller.user.id}`;
  const channels = acceptable([own, ...new Set(requested.filter((c) => !c.startsWith("user:")))]);
  const refused = channels.filter((c) => c !== own && !mayListen(caller.permissions, c));
  if (refused.length) {
    throw forbidden("You may not listen to these channels", { channels: refused });
  }
  return channels;
}

/**
 * Whether the caller may listen to `channel` by the rules of `listenChannels`: the admin to any,
 * a client to `user:<own id>`, any `client:` channel and its `bus.listen:<glob>` channels.
 */
export function mayListenTo(caller: Caller, channel: string): boolean {
  if (caller.kind === "anonymous") throw unauthorized();
  if (caller.kind === "admin") return true;
  if (channel.startsWith("user:")) return channel === `user:${caller.user.id}`;
  return mayListen(caller.permissions, channel);
}

/**
 * The list as the namespace's object checks it (`ChannelName`), so a channel it would refuse is
 * a 400 here, before anything waits: e.g. `user:<id>` of an id that cannot name a channel.
 */
function acceptable(channels: string[]): string[] {
  const refused = channels.flatMap((channel) => {
    const parsed = ChannelName.safeParse(channel);
    return parsed.success ? [] : [`${channel}: ${parsed.error.issues[0]?.message}`];
  });
  if (refused.length) throw badRequest("Invalid channels", { channels: refused });
  return channels;
}

/** `a,b,c` from a query string (WebSocket, SSE), validated like a JSON list. */
export function parseChannelQuery(value: string | undefined | null): string[] {
  const items = (value ?? "")
    .split(",")
    .map((c) => c.trim())
    .filter(Boolean);
  const parsed = ChannelList.safeParse(items);
  if (!parsed.success) {
    throw badRequest("Invalid channels", {
      channels: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`),
    });
  }
  return parsed.data;
}
