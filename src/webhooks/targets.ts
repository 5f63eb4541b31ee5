/**
 * SSRF guard: targets that are (or resolve to) private, loopback, link-local or otherwise
 * non-public addresses are refused unless `WEBHOOK_ALLOW_PRIVATE_TARGETS=true`.
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

const V4_BLOCKS: [number, number][] = [
  [0x00000000, 8], // "this" network
  [0x0a000000, 8], // private
  [0x64400000, 10], // carrier-grade NAT
  [0x7f000000, 8], // loopback
  [0xa9fe0000, 16], // link-local (cloud metadata lives here)
  [0xac100000, 12], // private
  [0xc0000000, 24], // IETF protocol assignments
  [0xc0000200, 24], // documentation
  [0xc0a80000, 16], // private
  [0xc6120000, 15], // benchmarking
  [0xc6336400, 24], // documentation
  [0xcb007100, 24], // documentation
  [0xe0000000, 4], // multicast
  [0xf0000000, 4], // reserved and broadcast
];

function parseV4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    value = value * 256 + Number(part);
  }
  return value;
}

function v4IsPrivate(value: number): boolean {
  return V4_BLOCKS.some(([base, bits]) => {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return (value & mask) >>> 0 === base;
  });
}

/** The eight 16-bit groups of an IPv6 address (with `::` and a trailing dotted quad), or null. */
function parseV6(text: string): number[] | null {
  let head = text;
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(head);
  if (dotted?.[1]) {
    const v4 = parseV4(dotted[1]);
    if (v4 === null) return null;
    tail.push(v4 >>> 16, v4 & 0xffff);
    head = head.slice(0, -dotted[1].length);
    if (head.endsWith(":") && !head.endsWith("::")) head = head.slice(0, -1);
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string | undefined) =>
    part
      ? part
          .split(":")
          .map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? Number.parseInt(g, 16) : Number.NaN))
      : [];
  const left = groups(halves[0]);
  const right = [...groups(halves[1]), ...tail];
  if (halves.length === 1) {
    const all = [...left, ...tail];
    return all.length === 8 && !all.some(Number.isNaN) ? all : null;
  }
  const fill = 8 - left.length - right.length;
  if (fill < 1) return null;
  const all = [...left, ...new Array<number>(fill).fill(0), ...right];
  return all.some(Number.isNaN) ? null : all;
}

function v6IsPrivate(g: number[]): boolean {
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, h = 0, i = 0] = g;
  const embeddedV4 = (h * 0x10000 + i) >>> 0;
  const zeroPrefix = a === 0 && b === 0 && c === 0 && d === 0 && e === 0;
  if (zeroPrefix && f === 0) return true; // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
  if (zeroPrefix && f === 0xffff) return v4IsPrivate(embeddedV4); // IPv4-mapped
  if (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0) {
    return v4IsPrivate(embeddedV4); // NAT64
  }
  if (a === 0x2002) return v4IsPrivate((b * 0x10000 + c) >>> 0); // 6to4 embeds its IPv4 next
  if (a === 0x2001 && b === 0) return true; // Teredo: a tunnel to an obfuscated IPv4 address
  if ((a & 0xfe00) === 0xfc00) return true; // unique local
  if ((a & 0xffc0) === 0xfe80) return true; // link-local
  if ((a & 0xffc0) === 0xfec0) return true; // site-local (deprecated)
  if ((a & 0xff00) === 0xff00) return true; // multicast
  return a === 0x2001 && b === 0x0db8; // documentation
}

/** True for an IP literal (v4, or v6 with or without brackets) that is not a public address. */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const v4 = parseV4(bare);
  if (v4 !== null) return v4IsPrivate(v4);
  const v6 = parseV6(bare);
  return v6 !== null && v6IsPrivate(v6);
}

function isIpLiteral(hostname: string): boolean {
  return parseV4(hostname) !== null || hostname.startsWith("[");
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
