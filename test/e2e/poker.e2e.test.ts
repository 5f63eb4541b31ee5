import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM_ARGS, chromiumPath } from "./support/browser";
import { DEV_ADMIN_TOKEN, type DevServer, startDevServer } from "./support/dev-server";

const SCREENSHOTS = join(import.meta.dirname, "__screenshots__");

let server: DevServer;
let browser: Browser;

beforeAll(async () => {
  server = await startDevServer();
  browser = await chromium.launch({ executablePath: await chromiumPath(), args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** A page in its own browser context (own localStorage), phone-sized for the voters. */
async function newPage(viewport = { width: 1200, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on("dialog", (dialog) => dialog.accept());
  page.on("pageerror", (err) => console.error("page error:", err));
  return page;
}

const card = (page: Page, container: string, choice: string) =>
  page.locator(`${container} button`, { hasText: new RegExp(`^${choice}$`) });

describe("poker UI in Chromium: a full round", () => {
  it("moderator and two voters play a round; voters are redirected at the end", async () => {
    // The moderator creates a session with the admin token.
    const mod = await newPage();
    await mod.goto(`${server.url}/poker/`);
    await mod.fill("#create input[name=token]", DEV_ADMIN_TOKEN);
    await mod.fill("#create input[name=moderator]", "Mona");
    await mod.fill("#create input[name=name]", "E2E Sprint");
    await mod.click("#create button[type=submit]");
    await mod.locator("#session").waitFor({ state: "visible" });
    await expect.poll(() => mod.textContent("#title")).toBe("E2E Sprint");

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
    for (const label of ["Story A", "Story B"]) {
      await mod.fill("#add-story input[name=story_label]", label);
      await mod.fill("#add-story textarea[name=description]", `<p><strong>${label}</strong></p>`);
      await mod.click("#add-story button[type=submit]");
      await mod.locator("#stories li", { hasText: label }).waitFor();
      if (label === "Story A") {
        // Shown by the broadcast while the answer is held: the form waits for it.
        expect(await mod.isDisabled("#add-story input[name=story_label]")).toBe(true);
      }
    }
    const voterLink = await mod.inputValue("#voter-link");
    expect(voterLink).toContain("invite=");

    // Two voters join with the invite link and a name, on phone-width screens.
    const voters: Page[] = [];
    for (const name of ["Ada", "Bob"]) {
      const page = await newPage({ width: 390, height: 844 });
      await page.goto(voterLink);
      await page.fill("#join input[name=name]", name);
      await page.click("#join button[type=submit]");
      await page.locator("#session").waitFor({ state: "visible" });
      voters.push(page);
    }
    const [ada, bob] = voters as [Page, Page];
    await mod.locator("#participants li", { hasText: "Bob" }).waitFor();
    await expect.poll(() => mod.locator("#participants li").count()).toBe(3);

    // The moderator starts the first story; everyone sees it.
    await mod.click("#next-story");
    for (const page of [mod, ada, bob]) {
      await expect.poll(() => page.textContent("#story-label")).toBe("Story A");
    }
    expect(await ada.innerHTML("#story-description")).toBe("<p><strong>Story A</strong></p>");

    // Voters vote; the chosen card leaves the deck; the moderator sees both votes live.
    await card(ada, "#deck", "5").click();
    await card(ada, "#my-choice", "5").waitFor();
    expect(await card(ada, "#deck", "5").count()).toBe(0);
    await mod.locator("#results li", { hasText: "Ada" }).waitFor();
    // Bob has not voted yet: Ada's vote is hidden from him.
    await expect.poll(() => bob.textContent("#voted-count")).toContain("1 of 2");
    expect(await bob.locator("#results li").count()).toBe(0);
    await card(bob, "#deck", "8").click();
    await mod.locator("#results li", { hasText: "Bob" }).waitFor();
    await expect.poll(() => mod.locator("#results li").count()).toBe(2);
    // Everyone voted: the votes are revealed to the voters too.
    await bob.locator("#results li", { hasText: "Ada" }).waitFor();

    mkdirSync(SCREENSHOTS, { recursive: true });
    for (const [page, file] of [
      [mod, "poker-moderator.png"],
      [bob, "poker-voter-phone.png"],
    ] as const) {
      const shot = join(SCREENSHOTS, file);
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(1000);
    }

    // The moderator submits points; the story badge shows them everywhere.
    await card(mod, "#points", "5").click();
    for (const page of [mod, ada, bob]) {
      await expect.poll(() => page.textContent("#story-points")).toBe("5 pts");
    }
    await mod.locator("#stories li", { hasText: "Story A" }).locator(".badge").waitFor();

    // Next story for all, with a fresh deck.
    await mod.click("#next-story");
    for (const page of [mod, ada, bob]) {
      await expect.poll(() => page.textContent("#story-label")).toBe("Story B");
    }
    await card(ada, "#deck", "5").waitFor();

    // The moderator ends the session; the voters are redirected to the end URL.
    await mod.click("#end-session");
    for (const page of [ada, bob]) {
      await page.waitForURL((url) => url.pathname === "/poker/" && !url.search, {
        timeout: 15_000,
      });
      await page.locator("#create").waitFor({ state: "visible" });
    }
  });
});
