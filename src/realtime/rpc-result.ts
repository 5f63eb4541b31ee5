import { ApiError, type ErrorBody, type ErrorCode, toApiError } from "../platform/errors";

/**
 * What every room RPC method that changes data answers. Errors thrown inside a Durable Object
 * reach the Worker without their class or fields (a 410 would surface as a 500), so the room
 * answers the contract's error body instead and the route throws it again with `unwrap`. Unexpected errors (storage failed, the object was reset) are rethrown:
 * the runtime must see the call fail, and swallowing a reset's error left the reset object's
 * call unfinished in the runtime (test/reliability/faults-threads.test.ts).
 */
export type RpcResult<T> = { ok: true; value: T } | { ok: false; error: ErrorBody["error"] };

export async function asResult<T>(
  run: () => Promise<T>,
  report: (err: unknown) => ApiError = toApiError,
): Promise<RpcResult<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (err) {
    const api = report(err);
    if (api.code === "internal") throw err;
    return { ok: false, error: api.toBody().error };
  }
}

export function unwrap<T>(result: RpcResult<T>): T {
  if (result.ok) return result.value;
  const { code, message, details } = result.error;
  throw new ApiError(code as ErrorCode, message, details);
}
