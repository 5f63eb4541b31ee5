import { readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "./support/dev-server";
import {
  card,
  expectAccessible,
  expectNoSidewaysScroll,
  launchChromium,
  newPage,
  organiserLink,
  PHONE,
  type PokerPage,
  readClipboard,
  screenshot,
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

const text = (page: Page, selector: string) => page.locator(selector).innerText();
const phase = (page: Page) => text(page, "#phase");

describe("poker UI in Chromium: an organiser and two voters play a session", () => {
  it("runs from the organiser link to the summary, through a reload and a server restart", async () => {
    // ---- The organiser opens the link; the key leaves the address bar and is never shown.
    const { link } = await organiserLink(server.url);
    const mod = await newPage(browser, server.url);
    await mod.goto(link);
    await mod.locator("#organiser-status").waitFor();
    expect(mod.url()).toBe(`${server.url}/poker/`);
    expect(await text(mod, "#organiser-name")).toBe("Mona Lead");
    expect(await mod.locator("input[name=token]").isVisible()).toBe(false);
    expect(await mod.content()).not.toContain("sbk_");
    await expectAccessible(mod, "create");
    await screenshot(mod, "create");

    await mod.fill("#create input[name=name]", "Sprint 42");
    await mod.click("#create button[type=submit]");
    await mod.locator("#session").waitFor();
    expect(await text(mod, "#title")).toBe("Sprint 42");

    // ---- Empty room: the first steps, with a copy button for the invite link.
    await mod.locator("#getting-started").waitFor();
    await expectAccessible(mod, "empty room");
    await screenshot(mod, "empty-room");
    await mod.click("#getting-started [data-copy=voter]");
    const voterLink = await readClipboard(mod);
    expect(voterLink).toContain("invite=");
    expect(await mod.content()).not.toContain("sbk_");

    // The first answer is held back after the server stored the story, so its `story_added`
    // broadcast shows it first: the form must not take the next story until that answer is in.
    let held = false;
    await mod.route("**/stories", async (route) => {
      const response = await route.fetch();
      if (!held) {
        held = true;
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
      await route.fulfill({ response });
    });
    for (const [label, description] of [
      ["Story A: login", '<p>See <a href="https://example.com/spec">the spec</a>.</p>'],
      ["Story B: logout", "Plain text\nover two lines"],
    ]) {
      await mod.fill("#add-story input[name=story_label]", label!);
      await mod.fill("#add-story textarea[name=description]", description!);
      await mod.click("#add-story button[type=submit]");
      await mod.locator("#stories li", { hasText: label }).waitFor();
      if (label === "Story A: login") {
        expect(await mod.isDisabled("#add-story input[name=story_label]")).toBe(true);
      }
    }
    expect(await mod.locator("#getting-started").isVisible()).toBe(false);

    // ---- Two voters join by the link: the join page names the session; Bob is on a phone.
    const ada = await newPage(browser, server.url);
    const bob = await newPage(browser, server.url, PHONE);
    for (const [page, name] of [
      [ada, "Ada Lovelace"],
      [bob, "Bob"],
    ] as const) {
      await page.goto(voterLink);
      await page.locator("#join-title", { hasText: "Sprint 42" }).waitFor();
      if (page === bob) {
        await expectAccessible(bob, "join page");
        await screenshot(bob, "join-phone");
      }
      await page.fill("#join input[name=name]", name);
      await page.click("#join button[type=submit]");
      await page.locator("#session").waitFor();
      expect(page.url()).not.toContain("invite=");
    }
    await expect.poll(() => mod.locator("#participants li").count()).toBe(3);
    await mod.locator("#participants .avatar", { hasText: "AL" }).waitFor();
    await expect.poll(() => text(mod, "#live")).toContain("joined");

    // ---- Voting starts; the description's link opens in a new tab.
    expect(await text(mod, "#next-story")).toBe("Start voting");
    await mod.click("#next-story");
    for (const page of [mod, ada, bob]) {
      await expect.poll(() => text(page, "#story-label")).toBe("Story A: login");
    }
    expect(await ada.getAttribute("#story-description a", "target")).toBe("_blank");
    expect(await phase(bob)).toMatch(/voting in progress/i);

    // The organiser's key may vote: the deck appears behind "I also estimate".
    expect(await mod.locator("#deck").isVisible()).toBe(false);
    await mod.check("#estimate");
    await card(mod, "#deck", "5").click();
    await expect.poll(() => card(mod, "#deck", "5").getAttribute("aria-pressed")).toBe("true");

    // Ada votes, withdraws, votes again; the moderator sees it live, Bob only that she voted.
    await card(ada, "#deck", "8").click();
    await expect.poll(() => card(ada, "#deck", "8").getAttribute("aria-pressed")).toBe("true");
    await mod.locator("#results li", { hasText: "Ada Lovelace" }).waitFor();
    await card(ada, "#deck", "8").click(); // pressing the chosen card takes the vote back
    await expect.poll(() => ada.locator("#deck [aria-pressed=true]").count()).toBe(0);
    await expect.poll(() => mod.locator("#results li", { hasText: "Ada" }).count()).toBe(0);
    await card(ada, "#deck", "5").click();
    await expect.poll(() => text(bob, "#voted-count")).toBe("2 of 3 voted");
    expect(await bob.locator("#results li").count()).toBe(0);
    expect(await bob.locator(".seat-card.flipped").count()).toBe(0);
    await expect.poll(() => text(bob, "#live")).toMatch(/voted/);

    // ---- Bob reloads mid-round: he is the same person and the votes stay hidden.
    await bob.reload();
    await bob.locator("#session").waitFor();
    await expect.poll(() => text(bob, "#story-label")).toBe("Story A: login");
    await expect.poll(() => mod.locator("#participants li").count()).toBe(3);
    await new Promise((r) => setTimeout(r, 1500));
    for (const page of [ada, bob]) {
      expect(await phase(page)).toMatch(/voting in progress/i);
      expect(await page.locator(".seat-card.flipped").count()).toBe(0);
    }
    await expectAccessible(bob, "voting");
    await expectNoSidewaysScroll(bob);
    await screenshot(bob, "voting-phone");
    await screenshot(mod, "voting-moderator");

    // ---- The server restarts mid-round; Bob's vote waits, marked pending, then goes through.
    const restarted = server.restart();
    await bob.locator("#connection", { hasText: /reconnecting/i }).waitFor({ timeout: 30_000 });
    await card(bob, "#deck", "5").click();
    await expect.poll(() => text(bob, "#vote-status")).toMatch(/offline/i);
    expect(await bob.locator("#deck button.card.pending").count()).toBe(1);
    await screenshot(bob, "pending-vote-phone");
    await restarted;
    await bob.locator("#connection").waitFor({ state: "hidden", timeout: 90_000 });
    await expect
      .poll(() => bob.locator("#deck button.card.pending").count(), { timeout: 30_000 })
      .toBe(0);

    // Every voter has voted: revealed for all, cards flipped, stats with the consensus.
    for (const page of [mod, ada, bob]) {
      await expect.poll(() => phase(page), { timeout: 30_000 }).toMatch(/revealed/i);
      await expect.poll(() => page.locator(".seat-card.flipped").count()).toBe(3);
    }
    await expect.poll(() => text(ada, "#live")).toMatch(/revealed/);
    await bob.locator("#stats .consensus", { hasText: "Consensus" }).waitFor();
    expect(await text(bob, "#stats")).toContain("5");
    await expectAccessible(bob, "revealed");
    await expectNoSidewaysScroll(bob);
    await screenshot(bob, "revealed-phone");
    await screenshot(mod, "revealed-moderator");

    // ---- A round timer set by the moderator shows for everyone.
    await mod.click("[data-seconds='60']");
    for (const page of [ada, bob]) {
      await page.locator("#timer", { hasText: /0:5\d|1:00/ }).waitFor();
    }
    await screenshot(bob, "timer-phone");
    await mod.click("#timer-stop");
    await bob.locator("#timer").waitFor({ state: "hidden" });

    // ---- Points, the next story, and "Finish session" (asks first).
    await card(mod, "#points", "5").click();
    for (const page of [mod, ada, bob]) {
      await expect.poll(() => text(page, "#story-points")).toBe("5 pts");
    }
    await mod.click("#next-story");
    for (const page of [mod, ada, bob]) {
      await expect.poll(() => text(page, "#story-label")).toBe("Story B: logout");
    }
    await card(ada, "#deck", "3").click();
    await card(bob, "#deck", "8").click();
    await expect.poll(() => phase(mod)).toMatch(/revealed/i);
    await mod.locator("#stats", { hasText: "Mixed" }).waitFor();
    await card(mod, "#points", "8").click();
    await expect.poll(() => text(mod, "#next-story")).toBe("Finish session");
    mod.dismissNext = true;
    await mod.click("#next-story");
    expect(mod.dialogs.at(-1)).toMatch(/finish the session/i);
    await new Promise((r) => setTimeout(r, 500));
    expect(await mod.locator("#session").isVisible()).toBe(true);
    await mod.click("#next-story");

    // ---- Everyone sees the summary, can copy it and download it as CSV.
    for (const page of [mod, ada, bob]) {
      await page.locator("#summary").waitFor({ timeout: 15_000 });
      await expect.poll(() => page.locator("#summary-table tbody tr").count()).toBe(2);
    }
    expect(await text(bob, "#summary-table")).toContain("Story A: login");
    expect(await bob.locator("#continue").isVisible()).toBe(false);
    await bob.click("#copy-summary");
    expect(await readClipboard(bob)).toContain("Story A: login: 5 points");
    const [download] = await Promise.all([
      bob.waitForEvent("download"),
      bob.click("#download-csv"),
    ]);
    const csv = readFileSync((await download.path())!, "utf8");
    expect(csv.split(/\r?\n/)[0]).toBe("story_label,story_points,votes,mean,median,consensus");
    await expectAccessible(bob, "summary");
    await expectNoSidewaysScroll(bob);
    await screenshot(bob, "summary-phone");
    await screenshot(mod, "summary");
    for (const page of [mod, ada, bob] as PokerPage[]) {
      expect(page.cspViolations).toEqual([]);
      await page.context().close();
    }
  }, 400_000);
});
