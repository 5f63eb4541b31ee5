import { sized } from "./soak";

/**
 * How hard the property-based suites push: small in `npm test`, larger under `npm run soak`
 * (vitest.soak.config.ts provides `soak`, read by ./soak.ts). No process.env: the values reach
 * the Workers runtime through vitest's `provide`/`inject`.
 */

/** fast-check runs per room kind and frame family (fuzz-frames). */
export const FC_FRAME_RUNS = sized(25, 150);

/** fast-check runs per REST operation and token (fuzz-rest). */
export const FC_REST_RUNS = sized(10, 80);

/** The least fuzz-rest must send in one run (the soak's promise: 10,000 without a 5xx). */
export const REST_REQUESTS_AT_LEAST = sized(1_000, 10_000);

/** The least fuzz-frames must send in one run (the soak's promise: 3,000, no socket closed). */
export const FRAMES_AT_LEAST = sized(1_000, 3_000);

/** A fixed seed in CI so a failure reproduces; random under soak to explore further. */
export const FC_SEED: number | undefined = sized<number | undefined>(20_260_501, undefined);
