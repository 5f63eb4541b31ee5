/**
 * The console's calls: every read goes out with the stored credential, and every refusal
 * becomes the SDK's `ApiError`, which the page can put into words (`explain`).
 */
import { ApiError } from "../../client/api-error";

export async function request<T>(
  secret: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { Authorization: `Bearer ${secret}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(new URL(path, location.origin), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw await ApiError.from(res);
  return (await res.json()) as T;
}

/** Words for an operator: what went wrong and what to do about it. */
export function explain(err: unknown): string {
  if (!(err instanceof ApiError)) {
    return "The server could not be reached. The page keeps trying every 5 seconds.";
  }
  if (err.status === 401) {
    return "This credential was not accepted: it is wrong, expired or revoked. Enter the admin token or a current API key.";
  }
  if (err.status === 403) {
    return "This credential is valid but may not read the console: it needs the admin token or an API key with the console.read permission.";
  }
  if (err.status === 429) return "Too many calls: the page slows down and tries again.";
  return `The server answered ${err.status}${err.message ? `: ${err.message}` : ""}.`;
}

export interface Page<T> {
  results: T[];
  next: number | null;
}

export interface Stats {
  rooms: Record<string, { active: number; sockets: number }>;
  bus: Record<string, { messages_24h: number; subscribers: number }>;
  webhooks: {
    hooks_active: number;
    deliveries_pending: number;
    deliveries_failed_24h: number;
    success_rate_24h: number | null;
  };
  generated_at: string;
}

export interface LiveRoom {
  kind: string;
  id: string;
  sockets: number;
  shards: number;
  last_event_at: string | null;
}

export interface Hook {
  id: string;
  event_type: string;
  target_url: string;
  is_active: boolean;
  disabled_reason: string | null;
  consecutive_failures: number;
}

export interface Attempt {
  event_uuid: string;
  event_type: string;
  attempt: number;
  status: "pending" | "succeeded" | "failed" | "retrying";
  response_status: number | null;
  response_body: string | null;
  duration_ms: number | null;
  error: string | null;
  created_at: string;
}

export interface HourBucket {
  start: string;
  attempts: number;
  succeeded: number;
  failed: number;
  p50_ms: number | null;
  p95_ms: number | null;
}

export interface PokerSession {
  id: string;
  name: string;
  ended?: boolean;
  stories?: unknown[];
}

export interface RecentError {
  id: number;
  at: string;
  request_id: string | null;
  room: string | null;
  event: string;
  message: string;
}
