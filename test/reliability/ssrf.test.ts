import { afterEach, describe, expect, it, vi } from "vitest";
import { isPrivateAddress, targetUrlProblem } from "../../src/features/webhooks/targets";
import {
  captureFetch,
  consume,
  deliveryLog,
  emit,
  freshEventType,
  subscribe,
  testEnv,
} from "../helpers/webhooks";

/**
 * SSRF forms the webhook tests do not already list: every way of writing a loopback, private or
 * link-local IPv4 address (the URL parser normalises them, the guard must see through), IPv6
 * forms that embed one (mapped, compatible, NAT64, 6to4, Teredo), and host names that resolve to
 * one at delivery time.
 */

const REFUSED: [string, string][] = [
  ["http://0177.0.0.1/", "octal"],
  ["http://0x7f.0.0.1/", "hex octet"],
  ["http://0x7f000001/", "hex number"],
  ["http://017700000001/", "octal number"],
  ["http://2130706433/", "decimal number"],
  ["http://3232235521/", "decimal 192.168.0.1"],
  ["http://0xa9fea9fe/", "hex 169.254.169.254 (cloud metadata)"],
  ["http://127.1/", "short form"],
  ["http://127.000.000.001/", "zero-padded"],
  ["http://127.0.0.1.:80/", "trailing dot"],
  ["http://①②⑦.⓪.⓪.①/", "enclosed digits"],
  ["http://127。0。0。1/", "ideographic full stops"],
  ["http://0/", "0"],
  ["http://0.0.0.0/", "0.0.0.0"],
  ["http://255.255.255.255/", "broadcast"],
  ["http://100.64.0.1/", "carrier-grade NAT"],
  ["http://198.18.0.1/", "benchmarking"],
  ["http://[::]/", "IPv6 unspecified"],
  ["http://[0000::1]/", "IPv6 loopback, long form"],
  ["http://[0:0:0:0:0:ffff:127.0.0.1]/", "IPv4-mapped, long form"],
  ["http://[::ffff:7f00:1]:8080/", "IPv4-mapped, hex"],
  ["http://[::ffff:0a00:0001]/", "IPv4-mapped 10.0.0.1"],
  ["http://[::ffff:169.254.169.254]/", "IPv4-mapped metadata"],
  ["http://[::127.0.0.1]/", "IPv4-compatible"],
  ["http://[64:ff9b::a9fe:a9fe]/", "NAT64 metadata"],
  ["http://[2002:7f00:1::]/", "6to4 of 127.0.0.1"],
  ["http://[2002:a9fe:a9fe::1]/", "6to4 of 169.254.169.254"],
  ["http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "Teredo"],
  ["http://[fd00::]/", "unique local"],
  ["http://[ff02::1]/", "multicast"],
  ["http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", "enclosed letters"],
  ["HTTP://LOCALHOST/", "upper case"],
  ["http://evil.example@127.0.0.1/", "credentials before a private host"],
  ["http://127.0.0.1#@evil.example/", "fragment after a private host"],
];

const ACCEPTED = [
  "https://example.com/hook",
  "https://93.184.216.34/",
  "https://[2606:4700:4700::1111]/hook",
  "https://[2a00:1450:4001:82a::200e]:8443/",
  "http://[::ffff:8.8.8.8]/",
  "https://[2002:5db8:d822::1]/",
];

afterEach(() => {
  vi.restoreAllMocks();
});

describe("SSRF: URL forms", () => {
  it.each(REFUSED)("refuses %s (%s)", (url) => {
    expect(targetUrlProblem(url, false)).toMatch(/private|local|credentials/);
  });

  it("accepts public IPv4 and IPv6 targets, literals included", () => {
    for (const url of ACCEPTED) expect(targetUrlProblem(url, false), url).toBeNull();
  });

  it("names the real reason for a private IPv6 literal", () => {
    expect(targetUrlProblem("http://[::1]/", false)).toMatch(/private, loopback or link-local/);
  });

  it("knows the IPv6 ranges that embed an IPv4 address", () => {
    expect(isPrivateAddress("2002:7f00:1::")).toBe(true);
    expect(isPrivateAddress("2002:c0a8:101::1")).toBe(true);
    expect(isPrivateAddress("2002:5db8:d822::1")).toBe(false);
    expect(isPrivateAddress("2001:0:4136:e378:8000:63bf:80ff:fffe")).toBe(true);
  });
});

describe("SSRF: names that resolve to private addresses", () => {
  /** Answers DNS-over-HTTPS lookups with `records` and records any other request. */
  function resolveTo(records: Record<string, string[]>) {
    return captureFetch((_n, req) => {
      const url = new URL(req.url);
      if (url.hostname !== "cloudflare-dns.com") return new Response("reached", { status: 200 });
      const name = url.searchParams.get("name") ?? "";
      const type = url.searchParams.get("type") === "AAAA" ? 28 : 1;
      const data = (records[name] ?? []).filter((a) => a.includes(":") === (type === 28));
      return Response.json({ Answer: data.map((d) => ({ name, type, data: d })) });
    });
  }

  it.each([
    ["internal.example", ["10.0.0.5"]],
    ["metadata.example", ["169.254.169.254"]],
    ["rebind.example", ["93.184.216.34", "127.0.0.1"]],
    ["v6.example", ["fd00::5"]],
    ["mapped.example", ["::ffff:192.168.1.1"]],
  ])("refuses a delivery to %s (%j) without contacting it", async (host, addresses) => {
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: `https://${host}/hook` });
    const strict = testEnv({ WEBHOOK_ALLOW_PRIVATE_TARGETS: "false" });
    const { calls } = resolveTo({ [host]: addresses });
    await emit(strict.env, type, { hello: "world" });
    const deliveryId = strict.sent[0]?.body.delivery_id as number;
    await consume(strict.env, deliveryId);
    expect(calls.filter((c) => new URL(c.url).hostname === host)).toEqual([]);
    const [attempt] = await deliveryLog(hook.id);
    expect(attempt.status).toBe("failed");
    expect(attempt.error).toMatch(/private, loopback or link-local/);
  });

  it("delivers to a name that resolves to public addresses only", async () => {
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: "https://public.example/hook" });
    const strict = testEnv({ WEBHOOK_ALLOW_PRIVATE_TARGETS: "false" });
    const { calls } = resolveTo({ "public.example": ["93.184.216.34", "2606:2800:220:1::1"] });
    await emit(strict.env, type, { hello: "world" });
    await consume(strict.env, strict.sent[0]?.body.delivery_id as number);
    expect(calls.filter((c) => new URL(c.url).hostname === "public.example")).toHaveLength(1);
    const [attempt] = await deliveryLog(hook.id);
    expect(attempt.status).toBe("succeeded");
  });
});
