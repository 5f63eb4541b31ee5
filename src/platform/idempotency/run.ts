/** A request running under its `Idempotency-Key` (src/platform/idempotency/middleware.ts). */
export interface IdempotentRun {
  /** The key's row (`idempotency_keys.id`). */
  id: string;
  /**
   * What an earlier run of this key recorded creating (in its write's own D1 batch) but never
   * answered: the route answers that instead of creating it again.
   */
  createdRef: string | null;
}
