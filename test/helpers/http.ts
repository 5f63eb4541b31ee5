import { SELF } from "cloudflare:test";

export const ADMIN = "test-admin-token";
export const BASE = "http://switchboard.test";

/** Calls the Worker in-process with an optional token and JSON body. */
export async function call(
  method: string,
  path: string,
  options: {
    token?: string;
    body?: unknown;
    rawBody?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) {
    body = options.rawBody;
    headers["Content-Type"] ??= "application/json";
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["Content-Type"] = "application/json";
  }
  const res = await SELF.fetch(`${BASE}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Mints a client token through the real endpoint. */
export async function tokenFor(
  id: string,
  permissions: string[] = [],
  options: { name?: string; ttl_seconds?: number } = {},
): Promise<string> {
  const res = await call("POST", "/api/tokens", {
    token: ADMIN,
    body: { user: { id, name: options.name ?? id }, permissions, ttl_seconds: options.ttl_seconds },
  });
  if (res.status !== 201)
    throw new Error(`minting a token failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token;
}

export function expectErrorShape(body: any): void {
  if (
    !body ||
    typeof body !== "object" ||
    !body.error ||
    typeof body.error.code !== "string" ||
    typeof body.error.message !== "string"
  ) {
    throw new Error(`not the contract's error shape: ${JSON.stringify(body)}`);
  }
}
