import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import {
  checkTarget,
  isPrivateAddress,
  targetUrlProblem,
} from "../../../src/features/webhooks/targets";
import { ROOM_KINDS } from "../../../src/rooms";
import { ADMIN, BASE } from "../../helpers/http";

const PRIVATE = [
  "127.0.0.1",
  "127.255.0.9",
  "10.1.2.3",
  "172.16.0.1",
  "172.31.255.255",
  "192.168.1.1",
  "169.254.169.254",
  "100.64.0.1",
  "0.0.0.0",
  "224.0.0.1",
  "::1",
  "[::1]",
  "::",
  "fc00::1",
  "fd12:3456::1",
  "fe80::1",
  "fe80::1%eth0",
  "::ffff:127.0.0.1",
  "::ffff:7f00:1",
  "[::ffff:a9fe:a9fe]",
  "::ffff:10.0.0.1",
  "64:ff9b::192.168.0.1",
];
const PUBLIC = ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"];

describe("the SSRF guard", () => {
  it("knows private, loopback and link-local addresses, IPv4 and IPv6", () => {
    for (const address of PRIVATE) expect(isPrivateAddress(address), address).toBe(true);
    for (const address of PUBLIC) expect(isPrivateAddress(address), address).toBe(false);
  });

  it("refuses private literals and localhost names in URLs unless allowed", () => {
    const refused = [
      "http://127.0.0.1/",
      "http://2130706433/", // 127.0.0.1 written as one number
      "http://0x7f.1/",
      "http://[::1]:8080/",
      "http://[::ffff:127.0.0.1]/",
      "http://[fd00::1]/",
      "http://[fe80::1]/",
      "http://169.254.169.254/latest/meta-data",
      "http://localhost:8787/",
      "http://LOCALHOST./",
      "http://app.localhost/",
      "http://intranet/",
    ];
    for (const url of refused) {
      expect(targetUrlProblem(url, false), url).toMatch(/private|local/);
      expect(targetUrlProblem(url, true), url).toBeNull();
    }
    expect(targetUrlProblem("https://example.com/hook", false)).toBeNull();
    expect(targetUrlProblem("https://93.184.216.34/", false)).toBeNull();
  });

  it("checks every address a host name resolves to before a delivery", async () => {
    const resolveTo = (addresses: string[]) => async () => addresses;
    expect(await checkTarget("https://ok.example/", false, resolveTo(["93.184.216.34"]))).toEqual({
      ok: true,
    });
    const rebinding = await checkTarget(
      "https://evil.example/",
      false,
      resolveTo(["93.184.216.34", "127.0.0.1"]),
    );
    expect(rebinding).toMatchObject({ ok: false, permanent: true });
    const v6 = await checkTarget("https://evil6.example/", false, resolveTo(["fd00::5"]));
    expect(v6).toMatchObject({ ok: false, permanent: true });
    const down = await checkTarget("https://x.example/", false, async () => {
      throw new Error("resolver down");
    });
    expect(down).toMatchObject({ ok: false, permanent: false });
    const allowed = await checkTarget("http://127.0.0.1/", true, async () => {
      throw new Error("not asked");
    });
    expect(allowed).toEqual({ ok: true });
  });

  it("answers 400 naming target_url through the route when private targets are off", async () => {
    const app = createApp(ROOM_KINDS);
    const strictEnv = { ...env, WEBHOOK_ALLOW_PRIVATE_TARGETS: "false" };
    const subscribe = async (target_url: string) => {
      const res = await app.fetch(
        new Request(`${BASE}/api/webhooks`, {
          method: "POST",
          headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
          body: JSON.stringify({ event_type: "bus.notification", target_url }),
        }),
        strictEnv,
        createExecutionContext(),
      );
      return { status: res.status, body: (await res.json()) as any };
    };
    for (const target of [
      "http://10.0.0.7/hook",
      "http://[::ffff:192.168.0.1]/",
      "http://localhost/",
    ]) {
      const res = await subscribe(target);
      expect(res.status, target).toBe(400);
      expect(res.body.error.details.target_url[0]).toMatch(/private|local/);
    }
    const ok = await subscribe(`https://example.com/${crypto.randomUUID()}`);
    expect(ok.status).toBe(201);
  });
});
