import type { Caller } from "./auth/caller";
import type { IdempotentRun } from "./idempotency/run";

/** The Hono environment shared by every router: bindings plus per-request variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: { caller: Caller; requestId: string; idempotency?: IdempotentRun };
}
