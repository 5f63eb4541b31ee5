import { ensureChromium } from "./browser";

/**
 * Runs once before any e2e file: a fresh machine gets its browser here, or one line saying what
 * to install within the first second, rather than a launch error inside every browser test.
 */
export default function setup(): void {
  try {
    ensureChromium();
  } catch (err) {
    // Exit here: a thrown error would be buried under vitest's "No test files found" report.
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}
