import { defineConfig } from "vitest/config";

// Tests of Node libraries that are not meant for workerd (the official AsyncAPI parser, built on
// Spectral and node-fetch); they import the source directly, with no Worker or server running.
export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
  },
});
