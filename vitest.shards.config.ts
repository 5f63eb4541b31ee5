import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

/**
 * The shard suites (contract §10): the same worker and bindings as `vitest.config.ts`, with rooms
 * that shard past 3 sockets, so a handful of real sockets spans the room and several shards.
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      cloudflareTest({
        main: "./test/helpers/worker.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            ADMIN_TOKEN: "test-admin-token",
            TOKEN_SECRET: "test-token-secret-0123456789abcdef",
            WEBHOOK_ALLOW_PRIVATE_TARGETS: "true",
            ROOM_SHARD_SOCKETS: "3",
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
      include: ["test/shards/**/*.shards.ts"],
      setupFiles: ["./test/helpers/apply-migrations.ts", "./test/helpers/quiet-aborted-rooms.ts"],
      testTimeout: 30_000,
      hookTimeout: 20_000,
    },
  };
});
