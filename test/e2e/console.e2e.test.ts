import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { DEV_ADMIN_TOKEN, type DevServer, startDevServer } from "./support/dev-server";
import {
  adminPost,
  expectAccessible,
  expectNoSidewaysScroll,
  launchChromium,
  newPage,
  type PokerPage,
  SCREENSHOTS,
} from "./support/poker-browser";
import { type Receiver, startReceiver } from "./support/receiver";

/** A socket in a poker room, through the `ws` package; resolves once it is open. */
function openSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => reject(new Error(`socket ${url} did not open in 5 s`)), 5000);
    ws.once("open", () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once("error", reject);
  });
}

async function shot(page: PokerPage, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `console-${name}.png`), fullPage: true });
}

async function signIn(page: PokerPage, secret: string): Promise<void> {
  await page.locator("#signin").waitFor();
  await page.fill("#secret", secret);
  await page.click("#signin button[type=submit]");
}

let server: DevServer;
let browser: Browser;
let receiver: Receiver;
/** Until set, the receiver is down for real: a 500 with a body the console shows. */
let healthy = false;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  [server, browser, receiver] = await Promise.all([
    startDevServer(),
    launchChromium(),
    startReceiver(),
  ]);
  receiver.answer.set("/hook", () => (healthy ? 200 : { status: 500, body: "database is down" }));
});

afterAll(async () => {
  for (const ws of sockets) ws.close();
  await browser?.close();
  await server?.stop();
  await receiver?.close();
});

describe("/console in Chromium against wrangler dev", () => {
  it("explains a refused credential, then shows rooms, a failing hook, redelivers and recovers", async () => {
    const page = await newPage(browser, server.url);
    const res = await page.goto(`${server.url}/console`);
    expect(page.url()).toBe(`${server.url}/console/`);
    const headers = res?.headers() ?? {};
    expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(headers["content-security-policy"]).toContain("script-src 'self'");
    expect(headers["x-content-type-options"]).toBe("nosniff");
    expect(headers["referrer-policy"]).toBe("no-referrer");

    // ---- A key without console.read: refused in words, and never echoed into the page.
    const plain = await adminPost<{ key: string }>(server.url, "/api/keys", {
      name: "No console",
      user: { id: "op-plain", name: "Plain" },
      permissions: [],
    });
    await signIn(page, plain.key);
    await page.locator("#notice", { hasText: "console.read" }).waitFor();
    expect(await page.content()).not.toContain(plain.key);
    await page.click("#forget");
    await signIn(page, "sbk_not-a-real-key");
    await page.locator("#notice", { hasText: "not accepted" }).waitFor();
    await page.click("#forget");

    // ---- The operator's key: stored once, the page polls with it.
    const reader = await adminPost<{ key: string }>(server.url, "/api/keys", {
      name: "Operator console",
      user: { id: "op-1", name: "Olga Ops" },
      permissions: ["console.read"],
    });
    await signIn(page, reader.key);
    await page.locator("#dashboard").waitFor();
    expect(await page.content()).not.toContain(reader.key);
    expect(await page.inputValue("#secret")).toBe("");

    // ---- A live poker room appears without a reload, within 10 s of its socket.
    const session = await adminPost<{ id: string }>(server.url, "/api/poker/sessions", {
      name: "Console watch",
    });
    const voter = await adminPost<{ token: string }>(server.url, "/api/tokens", {
      user: { id: "v1", name: "Vera" },
      permissions: ["planning_poker.vote"],
    });
    const wsUrl = `${server.url.replace("http", "ws")}/ws/poker/${session.id}?token=${voter.token}`;
    sockets.push(await openSocket(wsUrl));
    const row = page.locator("#rooms tr", { hasText: session.id });
    await row.waitFor({ timeout: 10_000 });
    expect(await row.innerText()).toMatch(/poker\s+\S+\s+1\s+1/);
    await page.locator("#room-kinds", { hasText: "poker" }).waitFor();
    await row.locator("button").click();
    await page.locator("#room-details dd", { hasText: "Console watch" }).waitFor();

    // ---- A hook whose receiver answers 500: its failing delivery, last response and chart.
    await adminPost(server.url, "/api/webhooks/event-types", {
      event_type: "invoice-paid",
      description: "An invoice was paid",
    });
    const hook = await adminPost<{ id: string }>(server.url, "/api/webhooks", {
      event_type: "invoice-paid",
      target_url: `${receiver.base}/hook`,
      max_retries: 0,
    });
    const emitted = await adminPost<{ event_uuid: string }>(server.url, "/api/webhook-events", {
      event_type: "invoice-paid",
      data: { invoice: 42 },
    });
    const failure = page.locator(`[data-hook="${hook.id}"] .failure`, {
      hasText: emitted.event_uuid,
    });
    await failure.waitFor({ timeout: 20_000 });
    await failure.locator("text=HTTP 500").waitFor();
    expect(await failure.locator("pre").innerText()).toBe("database is down");
    expect(await failure.innerText()).toContain("attempt 1 · failed");
    await page.locator(`[data-hook="${hook.id}"] svg.chart rect.chart-failed`).first().waitFor();
    await page.locator(`[data-hook="${hook.id}"] svg.chart rect.chart-p95`).first().waitFor();
    expect(
      await page.locator(`[data-hook="${hook.id}"] svg.chart`).first().getAttribute("aria-label"),
    ).toContain("0 % of 1 attempt succeeded");
    await page.locator("#errors li", { hasText: "HTTP 500" }).waitFor();
    await expectAccessible(page, "dashboard");
    await shot(page, "dashboard");

    // ---- console.read only reads: Redeliver is refused in words.
    await failure.locator("button", { hasText: "Redeliver" }).click();
    await page.locator("#action-status", { hasText: "Only the admin token" }).waitFor();

    // ---- With the admin token, Redeliver queues a new attempt that shows up in the log.
    await page.click("#forget");
    // Nothing drawn for the reader survives sign-out: its buttons would act with its key.
    expect(await page.locator("#hooks .failure").count()).toBe(0);
    expect(await page.locator("#action-status").innerText()).toBe("");
    await signIn(page, DEV_ADMIN_TOKEN);
    await page.locator(`[data-hook="${hook.id}"] .failure`).first().waitFor();
    const hitsBefore = receiver.arrivals.length;
    await page
      .locator(`[data-hook="${hook.id}"] .failure`, { hasText: emitted.event_uuid })
      .locator("button", { hasText: "Redeliver" })
      .click();
    await page.locator("#action-status", { hasText: "Queued" }).waitFor();
    await page
      .locator(`[data-hook="${hook.id}"] .failure`, { hasText: "attempt 2 · failed" })
      .waitFor({ timeout: 20_000 });
    expect(receiver.arrivals.length).toBeGreaterThan(hitsBefore);
    expect(
      await page.locator(`[data-hook="${hook.id}"] svg.chart`).first().getAttribute("aria-label"),
    ).toContain("0 % of 2 attempts succeeded");
    await expectAccessible(page, "after redelivery");
    await shot(page, "redelivered");

    // ---- The receiver is back: Recover (last 24 h by default) re-sends the failed delivery once.
    healthy = true;
    const hitsBeforeRecover = receiver.arrivals.length;
    const panel = page.locator(`[data-hook="${hook.id}"]`);
    expect(await panel.locator("select").inputValue()).toBe("24");
    await panel.locator("button", { hasText: "Recover failed since" }).click();
    await page.locator("#action-status", { hasText: "Recovered 1 failed delivery" }).waitFor();
    // The chart counts finished attempts only: it moves once attempt 3 has succeeded.
    await page
      .locator(`[data-hook="${hook.id}"] svg.chart[aria-label*="33.3 % of 3 attempts"]`)
      .first()
      .waitFor({ timeout: 20_000 });
    await panel.locator(".hint", { hasText: "None: every event's latest attempt" }).waitFor();
    expect(receiver.arrivals.length).toBe(hitsBeforeRecover + 1);
    const log = await fetch(`${server.url}/api/webhooks/${hook.id}/deliveries`, {
      headers: { Authorization: `Bearer ${DEV_ADMIN_TOKEN}` },
    }).then((r) => r.json() as Promise<{ results: { attempt: number; status: string }[] }>);
    expect(log.results.map((a) => [a.attempt, a.status])).toEqual([
      [3, "succeeded"],
      [2, "failed"],
      [1, "failed"],
    ]);
    await expectAccessible(page, "after recovery");

    // ---- Phone width: still usable, and no CSP violation anywhere (SVG attributes only).
    await page.setViewportSize({ width: 390, height: 844 });
    await expectNoSidewaysScroll(page);
    await shot(page, "phone");
    expect(page.cspViolations).toEqual([]);
  });

  it("follows the SSE stream instead of polling, and shows the recent-errors table", async () => {
    const page = await newPage(browser, server.url);
    const paths: string[] = [];
    page.on("request", (req) => paths.push(new URL(req.url()).pathname));
    await page.goto(`${server.url}/console/`);
    await signIn(page, DEV_ADMIN_TOKEN);
    await page.locator("#dashboard").waitFor();
    await page.locator("#server-errors tr").first().waitFor();
    // Two ticks of the stream: the rooms panel is refreshed by it, not by fetch.
    await page.waitForTimeout(6_000);
    expect(paths.filter((p) => p === "/api/console/stream")).toHaveLength(1);
    expect(paths).not.toContain("/api/stats");
    expect(paths).not.toContain("/api/rooms");
    await expectAccessible(page, "with the stream");
    expect(page.cspViolations).toEqual([]);
  });
});
