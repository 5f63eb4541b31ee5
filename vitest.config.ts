import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      cloudflareTest({
        // The production worker plus a test-only room kind for the base room's tests.
        main: "./test/helpers/worker.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            ADMIN_TOKEN: "test-admin-token",
            TOKEN_SECRET: "test-token-secret-0123456789abcdef",
            WEBHOOK_ALLOW_PRIVATE_TARGETS: "true",
            TEST_MIGRATIONS: migrations,
          },
          durableObjects: {
            POKER_ROOM: { className: "PokerRoom", useSQLite: true },
            THREAD_ROOM: { className: "ThreadRoom", useSQLite: true },
            BUS_CHANNEL: { className: "BusChannel", useSQLite: true },
            PERSON_ROOM: { className: "PersonRoom", useSQLite: true },
            TEST_ROOM: { className: "TestRoom", useSQLite: true },
          },
        },
      }),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      exclude: ["test/e2e/**", "test/node/**", "node_modules/**"],
      setupFiles: ["./test/helpers/apply-migrations.ts", "./test/helpers/quiet-aborted-rooms.ts"],
      testTimeout: 20_000,
      hookTimeout: 20_000,
    },
  };
});
