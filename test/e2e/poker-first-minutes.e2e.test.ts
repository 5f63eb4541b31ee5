import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_ADMIN_TOKEN, type DevServer, startDevServer } from "./support/dev-server";
import {
  adminPost,
  expectAccessible,
  launchChromium,
  newPage,
  organiserLink,
  PHONE,
} from "./support/poker-browser";

let server: DevServer;
let browser: Browser;

beforeAll(async () => {
  server = await startDevServer();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const stored = (page: Page, key: string) =>
  page.evaluate((k) => localStorage.getItem(k), `switchboard.poker.${key}`);

describe("poker UI in Chromium: the first minutes", () => {
  it("an organiser link mints its own tokens, refreshes them, and explains a revoked key", async () => {
    const {
      id: keyId,
      key,
      link,
    } = await organiserLink(server.url, { id: "lead-2", name: "Rita" });
    const page = await newPage(browser, server.url);
    const mints: string[] = [];
    page.on("request", (r) => {
      if (r.url().endsWith("/api/tokens")) mints.push(r.headers().authorization ?? "");
    });
    await page.goto(link);
    await page.locator("#organiser-status").waitFor();
    expect(page.url()).toBe(`${server.url}/poker/`);
    expect(mints).toEqual([`Bearer ${key}`]);
    expect(await page.content()).not.toContain(key);

    await page.fill("#create input[name=name]", "Refresh check");
    await page.click("#create button[type=submit]");
    await page.locator("#session").waitFor();
    expect(await page.content()).not.toMatch(/sbk_|eyJ/);

    // The minted token is close to expiry: the next call mints a new one first.
    const before = mints.length;
    await page.evaluate(() => {
      const k = "switchboard.poker.organiserToken";
      const t = JSON.parse(localStorage.getItem(k)!);
      localStorage.setItem(
        k,
        JSON.stringify({ ...t, expires_at: new Date(Date.now() + 60_000).toISOString() }),
      );
    });
    await page.fill("#add-story input[name=story_label]", "After refresh");
    await page.click("#add-story button[type=submit]");
    await page.locator("#stories li", { hasText: "After refresh" }).waitFor();
    expect(mints.length).toBe(before + 1);
    const fresh = JSON.parse((await stored(page, "organiserToken"))!) as { expires_at: string };
    expect(Date.parse(fresh.expires_at) - Date.now()).toBeGreaterThan(50 * 60_000);

    // The admin revokes the key: the page says what happened and what to do, in words.
    const res = await fetch(`${server.url}/api/keys/${keyId}`, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${DEV_ADMIN_TOKEN}` },
    });
    expect(res.status).toBeLessThan(300);
    await page.reload();
    await page.locator("#notice", { hasText: "Ask your admin for a new organiser link" }).waitFor();
    expect(await stored(page, "organiser")).toBeNull();
    await page.goto(`${server.url}/poker/`);
    await page.locator("#no-organiser").waitFor();
    await page.context().close();
  });

  it("without an organiser link the start page explains itself; the admin token is under Advanced", async () => {
    const page = await newPage(browser, server.url, PHONE);
    await page.goto(`${server.url}/poker/`);
    await page.locator("#no-organiser").waitFor();
    expect(await page.locator("#advanced").getAttribute("open")).not.toBeNull();
    await expectAccessible(page, "create without an organiser link");

    await page.fill("#create input[name=name]", "Ops session");
    await page.fill("#create input[name=token]", "wrong-token");
    await page.fill("#create input[name=moderator]", "Olga Ops");
    await page.click("#create button[type=submit]");
    await page.locator("#notice", { hasText: "admin token was not accepted" }).waitFor();

    await page.fill("#create input[name=token]", DEV_ADMIN_TOKEN);
    await page.click("#create button[type=submit]");
    await page.locator("#session").waitFor();
    await page.locator("#participants li", { hasText: "Olga Ops (you)" }).waitFor();
    expect(await page.content()).not.toContain(DEV_ADMIN_TOKEN);
    // An admin-started moderator may estimate too.
    await page.fill("#add-story input[name=story_label]", "First");
    await page.click("#add-story button[type=submit]");
    await page.click("#next-story");
    await page.locator("#estimate-switch").waitFor();
    await page.context().close();
  });

  it("a voter rejoins when the token expired; dead invites and ended sessions are said at once", async () => {
    const session = await adminPost<{ id: string }>(server.url, "/api/poker/sessions", {
      name: "Rejoin check",
      end_redirect_url: "/health",
    });
    await adminPost(server.url, `/api/poker/sessions/${session.id}/stories`, {
      story_label: "One",
    });
    const { url: inviteUrl, invite } = await adminPost<{ url: string; invite: string }>(
      server.url,
      `/api/poker/sessions/${session.id}/invites`,
      { role: "voter" },
    );

    const vera = await newPage(browser, server.url, PHONE);
    await vera.goto(inviteUrl);
    await vera.locator("#join-title", { hasText: "Rejoin check" }).waitFor();
    await vera.fill("#join input[name=name]", "Vera");
    await vera.click("#join button[type=submit]");
    await vera.locator("#session").waitFor();

    // Her token has expired: the page joins again with the stored invite and name.
    await vera.evaluate((id) => {
      const k = `switchboard.poker.session.${id}`;
      const creds = JSON.parse(localStorage.getItem(k)!);
      localStorage.setItem(k, JSON.stringify({ ...creds, expires_at: new Date(0).toISOString() }));
    }, session.id);
    const rejoined = vera.waitForRequest((r) => r.url().endsWith(`/${session.id}/join`));
    await vera.reload();
    await rejoined;
    await vera.locator("#participants li", { hasText: "Vera (you)" }).waitFor();
    expect(await vera.locator("#join").isVisible()).toBe(false);

    // A damaged invite: the join page says so before anyone types a name.
    const stranger = await newPage(browser, server.url);
    await stranger.goto(`${server.url}/poker/?session=${session.id}&invite=${invite}x`);
    await stranger.locator("#notice", { hasText: "ask the moderator for a new link" }).waitFor();
    expect(await stranger.locator("#join").isVisible()).toBe(false);

    // The session ends: Vera sees the summary and continues to the session's end URL.
    await adminPost(server.url, `/api/poker/sessions/${session.id}/end`, {});
    await vera.locator("#summary").waitFor({ timeout: 15_000 });
    await vera.locator("#summary-table tbody tr", { hasText: "One" }).waitFor();
    await vera.click("#continue");
    await vera.waitForURL(`${server.url}/health`);

    // Opening the link after the end says so at once.
    await stranger.goto(inviteUrl);
    await stranger.locator("#notice", { hasText: "This session has ended" }).waitFor();
    expect(await stranger.locator("#join").isVisible()).toBe(false);
    for (const page of [vera, stranger]) await page.context().close();
  });
});
