import { z } from "zod";
import { jittered } from "./jitter";

/**
 * Retry countdowns: the delay in seconds before retry number `n` (1, 2, …), keyed by name with
 * a zod schema of the kwargs each, so a new strategy is one `registerCountdown` call (the seed's
 * custom countdown registration).
 */
export interface CountdownStrategy<K> {
  kwargs: z.ZodType<K>;
  delay(kwargs: K, n: number): number;
  /** The default `max_retries` for this strategy; 10 when absent. */
  maxRetries?(kwargs: K): number;
  /** Its delays are spread already (and promised within bounds): no jitter on top. */
  spread?: boolean;
}

/** Longest delay a countdown may ask for (24 h); longer waits come from re-enqueueing anyway. */
export const MAX_DELAY_SECONDS = 86_400;
export const DEFAULT_MAX_RETRIES = 10;
export const MAX_RETRIES_LIMIT = 25;

const Seconds = z.number().int().min(0).max(MAX_DELAY_SECONDS);
const PositiveSeconds = z.number().int().min(1).max(MAX_DELAY_SECONDS);

// biome-ignore lint/suspicious/noExplicitAny: a heterogeneous registry; each entry is checked by its own schema
const strategies = new Map<string, CountdownStrategy<any>>();

export function registerCountdown<K>(name: string, strategy: CountdownStrategy<K>): void {
  if (strategies.has(name)) throw new Error(`Countdown '${name}' is already registered`);
  strategies.set(name, strategy);
}

registerCountdown("fixed", {
  kwargs: z.strictObject({ seconds: Seconds }),
  delay: (k) => k.seconds,
});

registerCountdown("linear", {
  kwargs: z.strictObject({ base: PositiveSeconds, limit: PositiveSeconds }),
  delay: (k, n) => Math.min(k.base * n, k.limit),
});

registerCountdown("exponential", {
  kwargs: z.strictObject({
    base: z.number().int().min(2).max(MAX_DELAY_SECONDS),
    limit: PositiveSeconds.default(MAX_DELAY_SECONDS),
  }),
  delay: (k, n) => Math.min(k.base ** n, k.limit),
});

registerCountdown("random", {
  kwargs: z
    .strictObject({ min: Seconds, max: Seconds })
    .refine((k) => k.min <= k.max, { message: "min must not exceed max", path: ["min"] }),
  delay: (k) => k.min + Math.floor(Math.random() * (k.max - k.min + 1)),
  spread: true,
});

registerCountdown("schedule", {
  kwargs: z.strictObject({ delays: z.array(Seconds).min(1).max(MAX_RETRIES_LIMIT) }),
  // Past the end of the schedule (after a redelivery, or a larger max_retries) the last delay repeats.
  delay: (k, n) => k.delays[Math.min(n, k.delays.length) - 1] as number,
  maxRetries: (k) => k.delays.length,
});

/** The Standard Webhooks retry schedule. */
export const DEFAULT_COUNTDOWN = {
  choice: "schedule",
  kwargs: { delays: [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400] },
};

export interface CountdownConfig {
  choice: string;
  kwargs: Record<string, unknown>;
}

/** `{choice, kwargs}` checked against the registry; issues name `choice` or `kwargs.<field>`. */
export const CountdownConfigSchema = z
  .object({
    choice: z.string().min(1).max(100),
    kwargs: z.record(z.string(), z.unknown()).default({}),
  })
  .superRefine((config, ctx) => {
    const strategy = strategies.get(config.choice);
    if (!strategy) {
      ctx.addIssue({
        code: "custom",
        path: ["choice"],
        message: `Unknown countdown; one of: ${[...strategies.keys()].join(", ")}`,
      });
      return;
    }
    const parsed = strategy.kwargs.safeParse(config.kwargs);
    for (const issue of parsed.error?.issues ?? []) {
      ctx.addIssue({ code: "custom", path: ["kwargs", ...issue.path], message: issue.message });
    }
  });

function resolve(config: CountdownConfig) {
  const strategy = strategies.get(config.choice);
  if (!strategy) throw new Error(`Unknown countdown '${config.choice}'`);
  return { strategy, kwargs: strategy.kwargs.parse(config.kwargs) };
}

/** The config as stored: kwargs with their defaults filled in. */
export function normalizeCountdown(config: CountdownConfig): CountdownConfig {
  return { choice: config.choice, kwargs: resolve(config).kwargs as Record<string, unknown> };
}

/** Seconds to wait before retry `n` (1-based), never more than a day. */
export function countdownDelay(config: CountdownConfig, n: number): number {
  const { strategy, kwargs } = resolve(config);
  return Math.min(Math.max(0, Math.round(strategy.delay(kwargs, n))), MAX_DELAY_SECONDS);
}

/** The delay before retry `n` as a retry waits it: with ±20 % jitter unless spread already. */
export function retryDelay(config: CountdownConfig, n: number): number {
  const delay = countdownDelay(config, n);
  return resolve(config).strategy.spread ? delay : Math.min(jittered(delay), MAX_DELAY_SECONDS);
}

export function defaultMaxRetries(config: CountdownConfig): number {
  const { strategy, kwargs } = resolve(config);
  return Math.min(strategy.maxRetries?.(kwargs) ?? DEFAULT_MAX_RETRIES, MAX_RETRIES_LIMIT);
}
