import { describe, expect, it } from "vitest";
import {
  checkTarget,
  isPrivateAddress,
  targetUrlProblem,
} from "../../../src/features/webhooks/targets";

/**
 * The SSRF guard against the IANA special-purpose address registries, one row per entry
 * (https://www.iana.org/assignments/iana-ipv4-special-registry and
 * https://www.iana.org/assignments/iana-ipv6-special-registry), plus the other non-public
 * ranges (multicast, site-local, IPv4-compatible, IPv4-translated): a sample address inside
 * each is refused as a URL literal, as a resolved address and by `isPrivateAddress`. Public
 * addresses next to these ranges are delivered to.
 */

const IPV4_REGISTRY: [string, string][] = [
  ["0.0.0.0/8 this network", "0.1.2.3"],
  ["0.0.0.0/32 this host", "0.0.0.0"],
  ["10.0.0.0/8 private", "10.20.30.40"],
  ["100.64.0.0/10 shared (CGNAT)", "100.127.255.254"],
  ["127.0.0.0/8 loopback", "127.8.9.10"],
  ["169.254.0.0/16 link-local (cloud metadata)", "169.254.169.254"],
  ["172.16.0.0/12 private", "172.31.0.1"],
  ["192.0.0.0/24 IETF protocol assignments", "192.0.0.200"],
  ["192.0.0.0/29 IPv4 service continuity", "192.0.0.1"],
  ["192.0.0.8/32 IPv4 dummy address", "192.0.0.8"],
  ["192.0.0.9/32 PCP anycast", "192.0.0.9"],
  ["192.0.0.10/32 TURN anycast", "192.0.0.10"],
  ["192.0.0.170/32 NAT64/DNS64 discovery", "192.0.0.170"],
  ["192.0.0.171/32 NAT64/DNS64 discovery", "192.0.0.171"],
  ["192.0.2.0/24 documentation (TEST-NET-1)", "192.0.2.33"],
  ["192.31.196.0/24 AS112-v4", "192.31.196.1"],
  ["192.52.193.0/24 AMT", "192.52.193.1"],
  ["192.88.99.0/24 deprecated 6to4 relay anycast", "192.88.99.1"],
  ["192.88.99.2/32 6a44-relay anycast", "192.88.99.2"],
  ["192.168.0.0/16 private", "192.168.100.1"],
  ["192.175.48.0/24 direct delegation AS112", "192.175.48.1"],
  ["198.18.0.0/15 benchmarking", "198.19.255.1"],
  ["198.51.100.0/24 documentation (TEST-NET-2)", "198.51.100.7"],
  ["203.0.113.0/24 documentation (TEST-NET-3)", "203.0.113.9"],
  ["240.0.0.0/4 reserved", "250.1.2.3"],
  ["255.255.255.255/32 limited broadcast", "255.255.255.255"],
  // Not special-purpose, but never a webhook receiver.
  ["224.0.0.0/4 multicast", "239.255.255.250"],
];

const IPV6_REGISTRY: [string, string][] = [
  ["::1/128 loopback", "::1"],
  ["::/128 unspecified", "::"],
  ["::ffff:0:0/96 IPv4-mapped, private IPv4", "::ffff:10.0.0.1"],
  ["::ffff:0:0/96 IPv4-mapped, loopback IPv4", "::ffff:7f00:1"],
  ["64:ff9b::/96 IPv4-IPv6 translation, private IPv4", "64:ff9b::10.0.0.1"],
  ["64:ff9b::/96 IPv4-IPv6 translation, metadata IPv4", "64:ff9b::a9fe:a9fe"],
  ["64:ff9b:1::/48 local-use IPv4-IPv6 translation", "64:ff9b:1::7f00:1"],
  ["64:ff9b:1::/48 local-use translation, even of a public IPv4", "64:ff9b:1::808:808"],
  ["100::/64 discard-only", "100::1"],
  ["100:0:0:1::/64 dummy IPv6 prefix", "100:0:0:1::1"],
  ["2001::/23 IETF protocol assignments", "2001:100::1"],
  ["2001::/32 Teredo (client 127.0.0.1)", "2001:0:4136:e378:8000:63bf:80ff:fffe"],
  ["2001::/32 Teredo (public server and client)", "2001:0:4136:e378:8000:63bf:3fff:fdd2"],
  ["2001:1::1/128 port control protocol anycast", "2001:1::1"],
  ["2001:1::2/128 TURN anycast", "2001:1::2"],
  ["2001:1::3/128 DNS-SD service registration anycast", "2001:1::3"],
  ["2001:2::/48 benchmarking", "2001:2::1"],
  ["2001:3::/32 AMT", "2001:3::1"],
  ["2001:4:112::/48 AS112-v6", "2001:4:112::1"],
  ["2001:10::/28 deprecated ORCHID", "2001:10::1"],
  ["2001:20::/28 ORCHIDv2", "2001:20::1"],
  ["2001:30::/28 drone remote ID entity tags", "2001:30::1"],
  ["2001:db8::/32 documentation", "2001:db8::1"],
  ["2002::/16 6to4, private IPv4", "2002:c0a8:101::1"],
  ["2002::/16 6to4, loopback IPv4", "2002:7f00:1::"],
  ["2620:4f:8000::/48 direct delegation AS112", "2620:4f:8000::1"],
  ["3fff::/20 documentation", "3fff:fff::1"],
  ["5f00::/16 segment routing (SRv6) SIDs", "5f00::1"],
  ["fc00::/7 unique local", "fd12:3456::1"],
  ["fe80::/10 link-local", "febf::1"],
  // Outside the special-purpose registry, but never public.
  ["::ffff:0:0:0/96 IPv4-translated", "::ffff:0:7f00:1"],
  ["::/96 IPv4-compatible (deprecated)", "::7f00:1"],
  ["fec0::/10 site-local (deprecated)", "fec0::1"],
  ["ff00::/8 multicast", "ff02::1"],
  ["4000::/3 not allocated by IANA", "4000::1"],
];

const PUBLIC: [string, string][] = [
  ["public IPv4", "8.8.8.8"],
  ["public IPv4", "93.184.216.34"],
  ["just past 172.16.0.0/12", "172.32.0.1"],
  ["just past 100.64.0.0/10", "100.128.0.1"],
  ["just past 198.18.0.0/15", "198.20.0.1"],
  ["just past 192.0.0.0/24", "192.0.1.1"],
  ["public IPv6", "2606:4700:4700::1111"],
  ["public IPv6", "2a00:1450:4001:82a::200e"],
  ["just past 2001::/23", "2001:200::1"],
  ["just past 2620:4f:8000::/48", "2620:4f:8001::1"],
  ["just past 3fff::/20", "3fff:1000::1"],
  ["IPv4-mapped public IPv4", "::ffff:8.8.8.8"],
  ["6to4 of a public IPv4", "2002:5db8:d822::1"],
  ["well-known NAT64 of a public IPv4", "64:ff9b::808:808"],
];

const asHost = (address: string) => (address.includes(":") ? `[${address}]` : address);
const resolveTo = (address: string) => async () => [address];

describe("the SSRF guard and the IANA special-purpose registries", () => {
  describe.each([
    ["IPv4", IPV4_REGISTRY],
    ["IPv6", IPV6_REGISTRY],
  ])("%s", (_family, rows) => {
    it.each(rows)("refuses %s (%s)", async (_entry, address) => {
      expect(isPrivateAddress(address)).toBe(true);
      const literal = `https://${asHost(address)}:8443/hook`;
      expect(targetUrlProblem(literal, false)).toBe(
        "must not be a private, loopback or link-local address",
      );
      expect(await checkTarget(literal, false)).toMatchObject({ ok: false, permanent: true });
      const named = await checkTarget("https://receiver.example/", false, resolveTo(address));
      expect(named).toMatchObject({ ok: false, permanent: true });
      // WEBHOOK_ALLOW_PRIVATE_TARGETS=true lets every one of them through (local development).
      expect(targetUrlProblem(literal, true)).toBeNull();
      expect(await checkTarget(literal, true)).toEqual({ ok: true });
    });
  });

  it.each(PUBLIC)("delivers to %s (%s)", async (_what, address) => {
    expect(isPrivateAddress(address)).toBe(false);
    const literal = `https://${asHost(address)}/hook`;
    expect(targetUrlProblem(literal, false)).toBeNull();
    expect(await checkTarget(literal, false)).toEqual({ ok: true });
    expect(await checkTarget("https://receiver.example/", false, resolveTo(address))).toEqual({
      ok: true,
    });
  });

  it("refuses the two forms the hand-written tables let through", () => {
    expect(targetUrlProblem("http://[::ffff:0:127.0.0.1]/", false)).toMatch(/private/);
    expect(targetUrlProblem("http://[64:ff9b:1::7f00:1]/", false)).toMatch(/private/);
  });

  it("refuses an answer of the resolver that is not an address", () => {
    expect(isPrivateAddress("receiver.example")).toBe(true);
    expect(isPrivateAddress("")).toBe(true);
  });
});
