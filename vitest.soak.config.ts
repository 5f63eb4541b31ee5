import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config";

/**
 * `npm run soak`: the reliability suites (test/reliability) in the Workers runtime with their
 * longer variants. Tests learn it through `inject("soak")` (see test/helpers/reliability/soak.ts), which
 * reaches the Workers runtime too; figures are printed as `[soak] <name>: <value> <unit>` lines
 * that scripts/soak.mjs collects. Not part of `npm test`.
 */
export default defineConfig(async (env) =>
  mergeConfig(await base(env), {
    test: {
      provide: { soak: true },
      testTimeout: 600_000,
      hookTimeout: 120_000,
    },
  }),
);
