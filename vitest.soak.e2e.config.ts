import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.e2e.config";

/** `npm run soak`, second half: the load test under `wrangler dev` at full size (1,000 sockets, 60 s). */
export default mergeConfig(
  base,
  defineConfig({ test: { provide: { soak: true }, testTimeout: 900_000 } }),
);
