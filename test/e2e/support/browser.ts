import { spawnSync } from "node:child_process";
import { accessSync, constants, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";

/**
 * Which Chromium the browser tests drive (playwright-core never downloads one here). Every
 * Chromium test launches with `chromium.launch({ executablePath: await chromiumPath(), args:
 * CHROMIUM_ARGS })`; the e2e global setup makes sure one exists before the first file runs.
 */

/** Headless and quiet: no sandbox (CI runs as root), no GPU, no update or sync traffic. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** The names a Chrome or Chromium has on PATH, preferred first. */
export const BROWSER_NAMES = [
  "chromium",
  "chromium-browser",
  "google-chrome",
  "google-chrome-stable",
];

/** Where packages put one when it is not on PATH (Debian/Ubuntu, snap, Google's .deb, macOS). */
export const USUAL_PATHS = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/snap/bin/chromium",
  "/usr/bin/google-chrome",
  "/opt/google/chrome/chrome",
  "/Applications/Chromium.app/Contents/MacOS/Chromium",
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
];

/** Executables inside one of playwright's `chromium-<revision>` folders, by platform. */
const PLAYWRIGHT_BINARIES = [
  "chrome-linux/chrome",
  "chrome-linux64/chrome",
  "chrome-mac/Chromium.app/Contents/MacOS/Chromium",
];

/** The one line printed when no browser is found and none can be installed. */
export const INSTALL_HINT =
  "No Chromium for the browser tests: install one (Debian/Ubuntu: `apt-get install -y chromium`, macOS: `brew install --cask chromium`) or set CHROMIUM_PATH to a Chrome/Chromium executable";

export interface BrowserSearch {
  /** `CHROMIUM_PATH`, `PATH` and `PLAYWRIGHT_BROWSERS_PATH` are read from it. */
  env: Record<string, string | undefined>;
  /** The home whose `~/.cache/ms-playwright` is searched. */
  home: string;
  /** Absolute paths tried after PATH. */
  usualPaths: readonly string[];
}

function systemSearch(): BrowserSearch {
  return { env: process.env, home: homedir(), usualPaths: USUAL_PATHS };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `name` on a PATH string, like `command -v`. */
export function onPath(name: string, path: string | undefined): string | null {
  for (const dir of (path ?? "").split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** Playwright's cached Chromiums, newest revision first (`chromium-1187` before `chromium-1169`). */
function playwrightBinaries(search: BrowserSearch): string[] {
  const root = search.env.PLAYWRIGHT_BROWSERS_PATH || join(search.home, ".cache", "ms-playwright");
  let folders: string[];
  try {
    folders = readdirSync(root).filter((name) => /^chromium-\d+$/.test(name));
  } catch {
    return [];
  }
  const revision = (name: string) => Number(name.slice("chromium-".length));
  folders.sort((a, b) => revision(b) - revision(a));
  return folders.flatMap((folder) => PLAYWRIGHT_BINARIES.map((bin) => join(root, folder, bin)));
}

/**
 * The first Chrome or Chromium found: `CHROMIUM_PATH` (which must then exist: a typo should not
 * silently test another browser), a browser on PATH, a usual install path, playwright's cache.
 */
export function findChromium(search: BrowserSearch = systemSearch()): string | null {
  const chosen = search.env.CHROMIUM_PATH;
  if (chosen) {
    if (isExecutable(chosen)) return chosen;
    throw new Error(`CHROMIUM_PATH=${chosen} is not an executable file`);
  }
  for (const name of BROWSER_NAMES) {
    const found = onPath(name, search.env.PATH);
    if (found) return found;
  }
  return [...search.usualPaths, ...playwrightBinaries(search)].find(isExecutable) ?? null;
}

/**
 * Whether this machine may install Debian's `chromium` itself: Debian or Ubuntu (or a
 * derivative, by `ID_LIKE`), run as root, with apt-get on PATH.
 */
export function canAptInstall(
  osRelease: string,
  uid: number | undefined,
  path: string | undefined,
) {
  const ids = osRelease
    .split("\n")
    .filter((line) => line.startsWith("ID=") || line.startsWith("ID_LIKE="))
    .flatMap((line) =>
      line
        .slice(line.indexOf("=") + 1)
        .replace(/"/g, "")
        .split(" "),
    );
  const debianLike = ids.includes("debian") || ids.includes("ubuntu");
  return debianLike && uid === 0 && onPath("apt-get", path) !== null;
}

/** The facts the install decision reads, besides where to search. */
export interface Machine extends BrowserSearch {
  /** The text of /etc/os-release ("" when there is none). */
  osRelease: string;
  uid: number | undefined;
}

function thisMachine(): Machine {
  let osRelease = "";
  try {
    osRelease = readFileSync("/etc/os-release", "utf8");
  } catch {
    // Not Linux, or a minimal image: no apt install then.
  }
  return { ...systemSearch(), osRelease, uid: process.getuid?.() };
}

/**
 * A browser for the e2e run, installing Debian's `chromium` with apt when none is found and
 * the machine allows it (a fresh Debian/Ubuntu CI box as root). Run once, by the global setup.
 */
export function ensureChromium(machine: Machine = thisMachine()): string {
  const found = findChromium(machine);
  if (found) return found;
  if (!canAptInstall(machine.osRelease, machine.uid, machine.env.PATH)) {
    throw new Error(INSTALL_HINT);
  }
  console.log("No Chromium found: installing Debian's chromium with apt-get (about a minute)");
  const install = "apt-get update -qq && apt-get install -y -qq chromium";
  // Through env(1): the rest of this process's environment stays, with the PATH searched.
  const apt = spawnSync(
    "/usr/bin/env",
    ["DEBIAN_FRONTEND=noninteractive", `PATH=${machine.env.PATH ?? ""}`, "/bin/sh", "-c", install],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  const installed = apt.status === 0 ? findChromium(machine) : null;
  if (!installed) throw new Error(`apt-get install chromium failed. ${INSTALL_HINT}`);
  return installed;
}

/** The Chromium to launch; the one-line install hint when there is none. */
export async function chromiumPath(): Promise<string> {
  const found = findChromium();
  if (!found) throw new Error(INSTALL_HINT);
  return found;
}
