import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  canAptInstall,
  ensureChromium,
  findChromium,
  INSTALL_HINT,
  onPath,
} from "../e2e/support/browser";

/**
 * The e2e tests' browser finder on fake machines: temporary folders with executable scripts
 * stand for PATH entries, install paths and playwright's cache, so the real /usr/bin/chromium
 * of this machine plays no part (and nothing is uninstalled).
 */

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "browser-finder-"));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** An executable file at `relative` under the fake machine's root; its absolute path. */
function executable(relative: string, mode = 0o755): string {
  const path = join(root, relative);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, "#!/bin/sh\n");
  chmodSync(path, mode);
  return path;
}

function search(env: Record<string, string | undefined>, usualPaths: string[] = []) {
  return { env, home: join(root, "home"), usualPaths };
}

describe("findChromium", () => {
  it("takes CHROMIUM_PATH first, and refuses one that is not executable", () => {
    const chosen = executable("opt/my-chrome");
    executable("bin/chromium");
    const path = join(root, "bin");
    expect(findChromium(search({ CHROMIUM_PATH: chosen, PATH: path }))).toBe(chosen);
    expect(() => findChromium(search({ CHROMIUM_PATH: join(root, "nope"), PATH: path }))).toThrow(
      /CHROMIUM_PATH=.*nope is not an executable file/,
    );
    const plain = executable("opt/not-executable", 0o644);
    expect(() => findChromium(search({ CHROMIUM_PATH: plain }))).toThrow(/not an executable/);
  });

  it("finds chromium, chromium-browser or google-chrome on PATH, in that order of names", () => {
    const chrome = executable("a/google-chrome");
    const path = [join(root, "empty"), join(root, "a"), join(root, "b")].join(delimiter);
    expect(findChromium(search({ PATH: path }))).toBe(chrome);
    const browser = executable("b/chromium-browser");
    expect(findChromium(search({ PATH: path }))).toBe(browser);
    const chromium = executable("b/chromium");
    expect(findChromium(search({ PATH: path }))).toBe(chromium);
    // A file of that name that is not executable does not count.
    executable("a/chromium", 0o644);
    expect(findChromium(search({ PATH: path }))).toBe(chromium);
  });

  it("falls back to the usual install paths, then playwright's cache, newest revision first", () => {
    executable("home/.cache/ms-playwright/chromium-1169/chrome-linux/chrome");
    const newest = executable("home/.cache/ms-playwright/chromium-1187/chrome-linux/chrome");
    executable(
      "home/.cache/ms-playwright/chromium_headless_shell-1200/chrome-linux/headless_shell",
    );
    expect(findChromium(search({ PATH: join(root, "empty") }))).toBe(newest);

    const usual = executable("usr/bin/chromium");
    expect(findChromium(search({ PATH: "" }, [join(root, "missing"), usual]))).toBe(usual);

    const elsewhere = executable("pw/chromium-1300/chrome-linux64/chrome");
    expect(findChromium(search({ PLAYWRIGHT_BROWSERS_PATH: join(root, "pw") }))).toBe(elsewhere);
  });

  it("answers null when there is none anywhere", () => {
    expect(
      findChromium(search({ PATH: join(root, "bin") }, [join(root, "usr/bin/chromium")])),
    ).toBe(null);
    expect(findChromium(search({}))).toBe(null);
  });
});

describe("canAptInstall", () => {
  const debian = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n';
  const ubuntu = 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n';
  const mint = 'NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\n';
  const fedora = 'NAME="Fedora Linux"\nID=fedora\n';

  it("installs only on Debian or Ubuntu (or a derivative), as root, with apt-get on PATH", () => {
    executable("sbin/apt-get");
    const path = join(root, "sbin");
    expect(onPath("apt-get", path)).toBe(join(root, "sbin", "apt-get"));
    expect(canAptInstall(debian, 0, path)).toBe(true);
    expect(canAptInstall(ubuntu, 0, path)).toBe(true);
    expect(canAptInstall(mint, 0, path)).toBe(true);
    expect(canAptInstall(fedora, 0, path)).toBe(false);
    expect(canAptInstall(debian, 1000, path)).toBe(false);
    expect(canAptInstall(debian, undefined, path)).toBe(false);
    expect(canAptInstall(debian, 0, join(root, "empty"))).toBe(false);
    expect(canAptInstall("", 0, path)).toBe(false);
  });

  it("says in one line what to install otherwise", () => {
    expect(INSTALL_HINT).not.toContain("\n");
    expect(INSTALL_HINT).toContain("apt-get install -y chromium");
    expect(INSTALL_HINT).toContain("CHROMIUM_PATH");
  });
});

describe("ensureChromium", () => {
  const debian = "ID=debian\n";

  it("installs nothing when a browser is found", () => {
    const chromium = executable("bin/chromium");
    const machine = { ...search({ PATH: join(root, "bin") }), osRelease: debian, uid: 0 };
    expect(ensureChromium(machine)).toBe(chromium);
  });

  it("fails with the install hint where it may not install", () => {
    executable("sbin/apt-get");
    const env = { PATH: join(root, "sbin") };
    expect(() => ensureChromium({ ...search(env), osRelease: debian, uid: 1000 })).toThrow(
      INSTALL_HINT,
    );
    expect(() => ensureChromium({ ...search(env), osRelease: "ID=fedora\n", uid: 0 })).toThrow(
      INSTALL_HINT,
    );
  });

  it("runs apt-get update and install non-interactively, then finds what it installed", () => {
    // A stand-in apt-get that logs its calls and, on install, puts a chromium next to itself.
    const bin = join(root, "bin");
    const apt = executable("bin/apt-get");
    writeFileSync(
      apt,
      `#!/bin/sh\necho "$DEBIAN_FRONTEND $*" >> "${root}/apt.log"\n` +
        `if [ "$1" = install ]; then printf '#!/bin/sh\\n' > "${bin}/chromium"; /bin/chmod 755 "${bin}/chromium"; fi\n`,
    );
    const machine = { ...search({ PATH: bin }), osRelease: debian, uid: 0 };
    expect(ensureChromium(machine)).toBe(join(bin, "chromium"));
    expect(readFileSync(join(root, "apt.log"), "utf8").trim().split("\n")).toEqual([
      "noninteractive update -qq",
      "noninteractive install -y -qq chromium",
    ]);
  });

  it("says so when apt-get fails", () => {
    const apt = executable("bin/apt-get");
    writeFileSync(apt, "#!/bin/sh\nexit 100\n");
    const machine = { ...search({ PATH: join(root, "bin") }), osRelease: debian, uid: 0 };
    expect(() => ensureChromium(machine)).toThrow(/^apt-get install chromium failed\. No Chromium/);
  });
});
