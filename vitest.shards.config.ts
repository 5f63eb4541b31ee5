import { workersConfig } from "./vitest.workers";

/**
 * The shard suites (contract §10): the same worker and bindings as `vitest.config.ts`, with rooms
 * that shard past 3 sockets, so a handful of real sockets spans the room and several shards.
 */
export default workersConfig({
  include: ["test/shards/**/*.shards.ts"],
  bindings: { ROOM_SHARD_SOCKETS: "3" },
  testTimeout: 30_000,
});
