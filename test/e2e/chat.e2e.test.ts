import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_ADMIN_TOKEN, type DevServer, startDevServer } from "./support/dev-server";
import {
  adminPost,
  DESKTOP,
  expectAccessible,
  expectNoSidewaysScroll,
  launchChromium,
  newPage,
  PHONE,
  type PokerPage,
  SCREENSHOTS,
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

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `chat-${name}.png`), fullPage: true });
}

async function token(id: string, name: string): Promise<string> {
  return (await adminPost<{ token: string }>(server.url, "/api/tokens", { user: { id, name } }))
    .token;
}

async function published(body: Record<string, unknown>): Promise<{ id: string }> {
  const schema = await adminPost<{ id: string }>(server.url, "/api/schemas", body);
  await adminPost(server.url, `/api/schemas/${schema.id}/publish`, {});
  return schema;
}

async function unreadOf(threadId: string, bearer: string): Promise<number> {
  const res = await fetch(`${server.url}/api/threads/${threadId}`, {
    headers: { Authorization: `Bearer ${bearer}` },
  });
  return ((await res.json()) as { unread_count: number }).unread_count;
}

const thread = (page: Page, id: string) => page.locator(`#thread-list [data-thread="${id}"]`);
const badge = (page: Page, id: string) => thread(page, id).locator(".unread");

describe("chat page in Chromium: two members of a thread, a scripted conversation, a survey", () => {
  it("sends live, shows unread counts and typing, marks read, answers questions", async () => {
    // ---- Setup over REST with the admin token: two users, a chat thread, a scripted thread
    // for Bob (an automated_flow schema) and a survey for Bob.
    const ada = await token("ada", "Ada");
    const bob = await token("bob", "Bob");
    const team = await adminPost<{ id: string }>(server.url, "/api/threads", {
      title: "Team chat",
      type: "chat",
      members: [
        { user_id: "ada", name: "Ada" },
        { user_id: "bob", name: "Bob" },
      ],
    });
    const flow = await published({
      name: "welcome",
      type: "automated_flow",
      questions: [
        {
          qid: 1,
          position: 0,
          text: "Hi {{user.name}}! Tea or coffee?",
          type: "choice",
          required: true,
          next_qid: -1,
          answers: [
            { id: 11, text: "Tea", next_qid: 2 },
            { id: 12, text: "Coffee", next_qid: 2 },
          ],
        },
        {
          qid: 2,
          position: 1,
          text: "With milk?",
          type: "choice",
          required: true,
          next_qid: -1,
          answers: [
            { id: 21, text: "Yes" },
            { id: 22, text: "No" },
          ],
        },
      ],
    });
    const bot = await adminPost<{ id: string }>(server.url, "/api/threads", {
      title: "Welcome",
      type: "chat",
      members: [
        { user_id: "bob", name: "Bob", state: "scripted", schema_id: flow.id, on_finish: "open" },
      ],
    });
    const survey = await published({
      name: "Team survey",
      type: "survey",
      questions: [
        {
          qid: 1,
          position: 0,
          text: "Happy with the sprint?",
          type: "choice",
          required: true,
          next_qid: -1,
          answers: [
            { id: 11, text: "Yes", next_qid: -1 },
            { id: 12, text: "No", next_qid: 2 },
          ],
        },
        {
          qid: 2,
          position: 1,
          text: "What went wrong?",
          type: "text",
          required: true,
          next_qid: -1,
        },
      ],
    });
    await adminPost(server.url, "/api/surveys", { schema_id: survey.id, user_id: "bob" });

    // ---- The page is served with the static assets' CSP: no inline script or style.
    const served = await fetch(`${server.url}/chat/`);
    expect(served.status).toBe(200);
    const csp = served.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");

    // ---- Bob opens the page with #token= on a phone: the token leaves the address bar.
    const b = await newPage(browser, server.url, PHONE);
    await b.goto(`${server.url}/chat/#token=${bob}`);
    await thread(b, team.id).waitFor();
    expect(b.url()).toBe(`${server.url}/chat/`);
    expect(await b.content()).not.toContain(bob);
    expect(await thread(b, bot.id).innerText()).toContain("Welcome");

    // ---- Ada pastes a wrong token first: the page says what a 401 means; then the right one.
    const a: PokerPage = await newPage(browser, server.url, DESKTOP);
    await a.goto(`${server.url}/chat/`);
    await a.fill("#token-input", "not-a-token");
    await a.click("#sign-in button[type=submit]");
    await a.locator("#notice").waitFor();
    expect(await a.locator("#notice").innerText()).toContain("did not accept this token (401)");
    await expectAccessible(a, "sign-in with an error");
    await a.fill("#token-input", ada);
    await a.click("#sign-in button[type=submit]");
    await thread(a, team.id).click();
    await a.locator("#conversation").waitFor();
    expect(await a.content()).not.toContain(ada);

    // ---- Bob is in the scripted thread: its question shows as buttons.
    await thread(b, bot.id).click();
    const question = b.locator("#question");
    await question.waitFor();
    expect(await b.locator("#question-text").innerText()).toBe("Hi Bob! Tea or coffee?");
    expect(await b.locator("#question-answers button").allInnerTexts()).toEqual(["Tea", "Coffee"]);

    // ---- Ada sends; Bob, in another thread, sees the team thread's unread count go up live.
    await a.fill("#message-text", "Hello Bob <3");
    await a.press("#message-text", "Enter");
    await a.locator("#messages li.own", { hasText: "Hello Bob <3" }).waitFor();
    await badge(b, team.id).filter({ hasText: "1" }).waitFor();
    expect(await thread(b, team.id).innerText()).toContain("Ada: Hello Bob <3");

    // ---- Bob answers: the answer is posted and the next question replaces the buttons.
    await b.click("#question-answers button:text-is('Coffee')");
    await b.locator("#messages li.own", { hasText: "Coffee" }).waitFor();
    await b.locator("#question-text", { hasText: "With milk?" }).waitFor();
    expect(await b.locator("#question-answers button").allInnerTexts()).toEqual(["Yes", "No"]);
    await expectAccessible(b, "scripted question");
    await expectNoSidewaysScroll(b);
    await shot(b, "scripted-phone");
    await b.click("#question-answers button:text-is('No')");
    await question.waitFor({ state: "hidden" });

    // ---- Bob opens the team thread: the message is there and its unread count goes to 0.
    await thread(b, team.id).click();
    await b.locator("#messages li", { hasText: "Hello Bob <3" }).waitFor();
    await badge(b, team.id).waitFor({ state: "hidden" });
    expect(await unreadOf(team.id, bob)).toBe(0);

    // ---- Bob types: Ada sees "Bob is writing…"; Bob's reply arrives live, and is read at once.
    await b.locator("#message-text").pressSequentially("On my way");
    await a.locator("#writing", { hasText: "Bob is writing…" }).waitFor();
    await b.click("#send");
    await a.locator("#messages li", { hasText: "On my way" }).waitFor();
    await a.locator("#writing", { hasText: /^$/ }).waitFor();
    await expect.poll(() => unreadOf(team.id, ada)).toBe(0);
    await expectAccessible(a, "conversation");
    await shot(a, "conversation");

    // ---- Ada types: Bob sees it too (typing works both ways).
    await a.locator("#message-text").pressSequentially("Great");
    await b.locator("#writing", { hasText: "Ada is writing…" }).waitFor();

    // ---- The survey: answering "No" makes its next question visible.
    const surveyBox = b.locator("#survey-list .survey");
    await surveyBox.locator("legend", { hasText: "Happy with the sprint?" }).waitFor();
    expect(await surveyBox.locator("legend", { hasText: "What went wrong?" }).count()).toBe(0);
    await surveyBox.locator("button:text-is('No')").click();
    await surveyBox.locator("legend", { hasText: "What went wrong?" }).waitFor();
    expect(await surveyBox.innerText()).toContain("Your answer: No");
    await surveyBox.locator("input").fill("Too many meetings");
    await surveyBox.locator("button:text-is('Answer')").click();
    await surveyBox.locator("text=Completed").waitFor();
    await expectAccessible(b, "survey");
    await expectNoSidewaysScroll(b);
    await shot(b, "survey-phone");

    expect(a.cspViolations).toEqual([]);
    expect(b.cspViolations).toEqual([]);

    // The page never needed the admin token.
    expect(await a.content()).not.toContain(DEV_ADMIN_TOKEN);
  });
});
