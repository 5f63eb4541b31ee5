/**
 * Chromium helpers for the poker page's end-to-end tests: pages in their own contexts, axe-core
 * checks run inside the page (offline), screenshots, and the REST calls a test sets up with.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { expect } from "vitest";
import { CHROMIUM_ARGS, chromiumPath } from "./browser";
import { DEV_ADMIN_TOKEN } from "./dev-server";

export const SCREENSHOTS = join(import.meta.dirname, "..", "__screenshots__");
const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve("axe-core/axe.min.js"),
  "utf8",
);

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1200, height: 900 };

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: await chromiumPath(), args: CHROMIUM_ARGS });
}

export interface PokerPage extends Page {
  /** The confirmation questions the page asked (all accepted unless `dismissNext` is set). */
  dialogs: string[];
  dismissNext: boolean;
  /** What the page's Content-Security-Policy refused (inline script or style, other origins). */
  cspViolations: string[];
}

/** A page in its own browser context (own localStorage), allowed to use the clipboard. */
export async function newPage(
  browser: Browser,
  origin: string,
  viewport = DESKTOP,
): Promise<PokerPage> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
  const page = (await context.newPage()) as PokerPage;
  page.dialogs = [];
  page.dismissNext = false;
  page.cspViolations = [];
  page.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) page.cspViolations.push(msg.text());
  });
  page.on("dialog", (dialog) => {
    page.dialogs.push(dialog.message());
    const dismiss = page.dismissNext;
    page.dismissNext = false;
    void (dismiss ? dialog.dismiss() : dialog.accept());
  });
  page.on("pageerror", (err) => console.error("page error:", err));
  return page;
}

interface AxeResult {
  violations: { id: string; help: string; nodes: { target: string[] }[] }[];
}

/** Runs axe-core on the page as it is now; a violation fails with its rule and elements. */
export async function expectAccessible(page: Page, state: string): Promise<void> {
  // Evaluated over the DevTools protocol: the page's CSP (rightly) refuses an added <script>.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(
    () =>
      (window as unknown as { axe: { run(): Promise<AxeResult> } }).axe.run() as Promise<AxeResult>,
  );
  const found = result.violations.map(
    (v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`,
  );
  expect(found, `axe violations in the ${state} state`).toEqual([]);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `poker-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The page has nothing wider than the viewport (a phone would have to scroll sideways). */
export async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const sticking = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const found = Array.from(document.querySelectorAll<HTMLElement>("body *"))
      .filter(
        (e) =>
          // Screen-reader-only text is clipped to a pixel on purpose.
          !e.closest(".visually-hidden") &&
          (e.getBoundingClientRect().right > width + 0.5 ||
            // Text that spills out of its box counts too (it widens the page, not its box).
            (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === "visible")),
      )
      .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`)
      .slice(0, 5);
    const overflow = document.documentElement.scrollWidth - width;
    return overflow > 0 ? [`page ${overflow}px too wide`, ...found] : found;
  });
  expect(sticking, "elements wider than the viewport").toEqual([]);
}

export async function adminPost<T>(url: string, path: string, body: unknown): Promise<T> {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${DEV_ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${path} → ${res.status} ${JSON.stringify(json)}`);
  return json as T;
}

/** An organiser's API key (moderate and vote) and the `/poker/#key=…` link made from it. */
export async function organiserLink(
  url: string,
  user = { id: "lead-1", name: "Mona Lead" },
): Promise<{ id: string; key: string; link: string }> {
  const key = await adminPost<{ id: string; key: string }>(url, "/api/keys", {
    name: "Team Blue organiser",
    user,
    permissions: ["planning_poker.moderate", "planning_poker.vote"],
  });
  return { ...key, link: `${url}/poker/#key=${key.key}` };
}

export const card = (page: Page, container: string, choice: string) =>
  page.locator(`${container} button`, { hasText: new RegExp(`^${choice}$`) });

export const readClipboard = (page: Page) => page.evaluate(() => navigator.clipboard.readText());
