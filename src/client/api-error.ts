/**
 * The contract's HTTP error (`{"error": {"code", "message", "details"}}`) as one class for every
 * REST helper of the SDK and every page: `details` holds the per-field problems (the chat codes
 * of the threads routes, the validation messages of the others).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, string[]> | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The contract's error body of `res` (a body that is not one keeps the status). */
  static async from(res: Response): Promise<ApiError> {
    const json = (await res.json().catch(() => null)) as {
      error?: { code?: string; message?: string; details?: Record<string, string[]> };
    } | null;
    return new ApiError(
      res.status,
      json?.error?.code ?? "internal",
      json?.error?.message ?? `HTTP ${res.status}`,
      json?.error?.details ?? null,
    );
  }
}
