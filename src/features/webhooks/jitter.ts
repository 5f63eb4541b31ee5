/**
 * Retries get ±20 % jitter (contract §6): receivers that failed together (an outage) would
 * otherwise see every retry of that moment come back in one burst.
 */
export const JITTER = 0.2;

/**
 * `seconds` times a uniform factor in [0.8, 1.2], in whole seconds (a Queue delays by whole
 * seconds). A floor such as a Retry-After is applied by the caller, after the jitter.
 */
export function jittered(seconds: number, random: () => number = Math.random): number {
  return Math.round(seconds * (1 - JITTER + 2 * JITTER * random()));
}
