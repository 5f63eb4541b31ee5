import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

/**
 * The Workers-runtime test setup both suites share: the production worker plus a test-only room
 * kind for the base room's tests, every Durable Object class, the migrations, test secrets.
 * `bindings` adds or overrides vars (the shard suite's small `ROOM_SHARD_SOCKETS`).
 */
export function workersConfig(options: {
  include: string[];
  exclude?: string[];
  bindings?: Record<string, string>;
  testTimeout: number;
}) {
  return defineConfig(async () => {
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
              ...options.bindings,
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
        include: options.include,
        exclude: options.exclude ?? [],
        setupFiles: ["./test/helpers/apply-migrations.ts", "./test/helpers/quiet-aborted-rooms.ts"],
        testTimeout: options.testTimeout,
        hookTimeout: 20_000,
      },
    };
  });
}
