import ipaddr from "ipaddr.js";

/**
 * SSRF guard: targets that are (or resolve to) private, loopback, link-local or otherwise
 * non-public addresses are refused unless `WEBHOOK_ALLOW_PRIVATE_TARGETS=true`. The ranges are
 * ipaddr.js's (a maintained copy of the IANA special-purpose registries), not a table of ours.
 */

export type TargetVerdict =
  | { ok: true }
  /** Never deliverable: a retry cannot help. */
  | { ok: false; permanent: true; reason: string }
  /** The name could not be resolved now; a later attempt may succeed. */
  | { ok: false; permanent: false; reason: string };

/** Resolves a host name to its A and AAAA addresses. */
export type Resolver = (hostname: string) => Promise<string[]>;

export function privateTargetsAllowed(env: Env): boolean {
  return env.WEBHOOK_ALLOW_PRIVATE_TARGETS === "true";
}

/**
 * Outside 2000::/3 no IPv6 address is global unicast (IANA IPv6 Address Space registry); ipaddr.js
 * still calls such an address `unicast` when it is in none of its named ranges, e.g. the
 * deprecated IPv4-compatible ::/96 or the dummy prefix 100:0:0:1::/64 (RFC 9780, newer than the
 * library's table). Every other range of the IANA special-purpose registries for IPv4 and IPv6 is
 * in ipaddr.js 2.5's `range()` table.
 */
const V6_GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR("2000::/3");
/** NAT64's well-known prefix (RFC 6052): the IPv4 address it reaches is its last 32 bits. */
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR("64:ff9b::/96");

/** The IPv4 address a 6to4 (2002:AABB:CCDD::/48) or well-known NAT64 address reaches. */
function embeddedV4(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/**
 * Only `unicast` (public) ranges are deliverable. IPv6 forms that reach an IPv4 address without
 * a tunnel we cannot see into (IPv4-mapped, 6to4, well-known NAT64) are judged by that address;
 * every other named range (IPv4-translated, local-use NAT64 64:ff9b:1::/48, Teredo, ...) is
 * refused whatever it embeds.
 */
function isPublic(address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  if (address instanceof ipaddr.IPv4) return address.range() === "unicast";
  if (address.isIPv4MappedAddress()) return isPublic(address.toIPv4Address());
  const range: string = address.range();
  const [, b = 0, c = 0, , , , g = 0, h = 0] = address.parts;
  if (range === "6to4") return isPublic(embeddedV4(b, c));
  if (address.match(NAT64_WELL_KNOWN)) return isPublic(embeddedV4(g, h));
  return range === "unicast" && address.match(V6_GLOBAL_UNICAST);
}

/** An IP literal (v4 in any form ipaddr.js reads, v6 with or without brackets or zone), or null. */
function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const bare = text.replace(/^\[(.*)\]$/, "$1");
  return ipaddr.isValid(bare) ? ipaddr.parse(bare) : null;
}

/** True unless `address` is an IP address in a public unicast range (so a name is not public). */
export function isPrivateAddress(address: string): boolean {
  const parsed = parseAddress(address);
  return parsed === null || !isPublic(parsed);
}

/** The URL parser has already normalised IPv4 hosts to four decimal parts. */
function isIpLiteral(hostname: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(hostname) || hostname.startsWith("[");
}

function isLocalName(hostname: string): boolean {
  // An IPv6 literal is an address, not a name: `isPrivateAddress` judges it.
  if (hostname.startsWith("[")) return false;
  const name = hostname.replace(/\.$/, "").toLowerCase();
  return name === "localhost" || name.endsWith(".localhost") || !name.includes(".");
}

/**
 * What can be decided from the URL alone: scheme, credentials in the URL, IP literals and
 * `localhost` names. Returns the problem, or null when the URL is acceptable.
 */
export function targetUrlProblem(raw: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "must be an absolute http(s) URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must use http or https";
  if (url.username || url.password) return "must not carry credentials; use config.auth";
  if (allowPrivate) return null;
  if (isLocalName(url.hostname)) return "must not be a local host name";
  if (isIpLiteral(url.hostname) && isPrivateAddress(url.hostname)) {
    return "must not be a private, loopback or link-local address";
  }
  return null;
}

/** DNS over HTTPS (Cloudflare's resolver), A and AAAA. */
export const dohResolver: Resolver = async (hostname) => {
  const lookups = ["A", "AAAA"].map(async (type) => {
    const url = `https://cloudflare-dns.com/dns-query?name=${encodeURIComponent(hostname)}&type=${type}`;
    const res = await fetch(url, { headers: { Accept: "application/dns-json" } });
    if (!res.ok) throw new Error(`resolver answered ${res.status}`);
    const body = (await res.json()) as { Answer?: { type: number; data: string }[] };
    return (body.Answer ?? []).filter((a) => a.type === 1 || a.type === 28).map((a) => a.data);
  });
  return (await Promise.all(lookups)).flat();
};

/** The full check before a delivery: the URL, then every address its host name resolves to. */
export async function checkTarget(
  raw: string,
  allowPrivate: boolean,
  resolve: Resolver = dohResolver,
): Promise<TargetVerdict> {
  const problem = targetUrlProblem(raw, allowPrivate);
  if (problem) return { ok: false, permanent: true, reason: `target_url ${problem}` };
  const { hostname } = new URL(raw);
  if (allowPrivate || isIpLiteral(hostname)) return { ok: true };
  let addresses: string[];
  try {
    addresses = await resolve(hostname);
  } catch {
    return { ok: false, permanent: false, reason: "target host could not be resolved" };
  }
  if (addresses.some(isPrivateAddress)) {
    return {
      ok: false,
      permanent: true,
      reason: "target host resolves to a private, loopback or link-local address",
    };
  }
  return { ok: true };
}
