import { defineConfig } from "vitest/config";

// Tests that need Node rather than workerd (e.g. the official AsyncAPI parser, which reads
// files and spawns no Worker); they import the source directly, with no server running.
export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
  },
});
