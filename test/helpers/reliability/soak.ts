import { inject } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** True under `npm run soak` (vitest.soak.config.ts / vitest.soak.e2e.config.ts). */
    soak: boolean;
  }
}

/** Whether this run is the soak (longer variants, figures printed); false in `npm test`. */
export const SOAK: boolean = inject("soak") === true;

/** The CI value, or the soak value under `npm run soak`. */
export function sized<T>(ci: T, soak: T): T {
  return SOAK ? soak : ci;
}

/** One figure of a soak run; scripts/soak.mjs collects these lines into the summary. */
export function figure(name: string, value: number | string, unit = ""): void {
  if (SOAK) console.log(`[soak] ${name}: ${value}${unit ? ` ${unit}` : ""}`);
}
