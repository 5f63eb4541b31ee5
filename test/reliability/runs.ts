import { sized } from "./soak";

/**
 * How hard the property-based suites push: small in `npm test`, larger under `npm run soak`
 * (vitest.soak.config.ts provides `soak`, read by ./soak.ts). No process.env: the values reach
 * the Workers runtime through vitest's `provide`/`inject`.
 */

/** fast-check runs per room kind and frame family (fuzz-frames). */
export const FC_FRAME_RUNS = sized(25, 150);

/** fast-check runs per REST operation and token (fuzz-rest). */
export const FC_REST_RUNS = sized(10, 40);

/** A fixed seed in CI so a failure reproduces; random under soak to explore further. */
export const FC_SEED: number | undefined = sized<number | undefined>(20_260_501, undefined);
