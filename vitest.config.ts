import { workersConfig } from "./vitest.workers";

export default workersConfig({
  include: ["test/**/*.test.ts"],
  exclude: ["test/e2e/**", "test/node/**", "node_modules/**"],
  testTimeout: 20_000,
});
