import { defineConfig } from "vitest/config";

// End-to-end tests in Node against `wrangler dev` (and Chromium for the UI).
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.test.ts"],
    environment: "node",
    // Finds (or on a Debian/Ubuntu root machine, installs) Chromium once, before any file runs.
    globalSetup: ["test/e2e/support/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // One wrangler dev per file; files run one after another on the 2-core machines.
    fileParallelism: false,
  },
});
