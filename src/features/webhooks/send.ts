import * as time from "../../platform/time";
import { type SignatureScheme, signatureHeader, whispererSignature } from "./sign";

/** One signed POST of a delivery, and what came of it. */
export interface SendRequest {
  url: string;
  /** The current secret (`whsec_…`/any string for hmac, `whsk_…` for ed25519). */
  secret: string;
  /** `hmac` when absent. */
  signature?: SignatureScheme;
  /** The secret before a rotation, while its overlap lasts: it signs too. */
  previousSecret?: string | null;
  eventType: string;
  eventUuid: string;
  /** The exact body that is signed and sent. */
  body: string;
  basicAuth: { username: string; password: string } | null;
  timeoutMs: number;
}

export interface SendResult {
  ok: boolean;
  status: number | null;
  /** The first 1 KiB of the response body. */
  body: string | null;
  durationMs: number;
  error: string | null;
  /** Seconds asked for by `Retry-After` on a 429 or 503. */
  retryAfter: number | null;
}

const BODY_LOG_BYTES = 1024;
const MAX_RETRY_AFTER_SECONDS = 86_400;

async function firstBytes(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < BODY_LOG_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes.subarray(0, BODY_LOG_BYTES));
}

/** `Retry-After` as seconds (delta or HTTP date), at most a day; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = time.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  const seconds = /^\d+$/.test(trimmed)
    ? Number(trimmed)
    : Math.ceil((Date.parse(trimmed) - now) / 1000);
  if (!Number.isFinite(seconds)) return null;
  return Math.min(Math.max(seconds, 0), MAX_RETRY_AFTER_SECONDS);
}

export async function buildHeaders(req: SendRequest, timestamp: number): Promise<Headers> {
  const scheme = req.signature ?? "hmac";
  const secrets = req.previousSecret ? [req.secret, req.previousSecret] : [req.secret];
  const headers = new Headers({
    "Content-Type": "application/json",
    "User-Agent": "Switchboard-Webhooks/1",
    "X-Whisperer-Event": req.eventType,
    "webhook-id": req.eventUuid,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await signatureHeader(scheme, secrets, req.eventUuid, timestamp, req.body),
  });
  // dj-whisperer's header is an HMAC with a shared secret: an ed25519 hook has none to share.
  if (scheme === "hmac") {
    headers.set("X-Whisperer-Signature", await whispererSignature(req.secret, req.body));
  }
  if (req.basicAuth) {
    const raw = new TextEncoder().encode(`${req.basicAuth.username}:${req.basicAuth.password}`);
    headers.set("Authorization", `Basic ${btoa(String.fromCharCode(...raw))}`);
  }
  return headers;
}

/** POSTs once: redirects are not followed, and the attempt gives up after `timeoutMs`. */
export async function sendDelivery(req: SendRequest): Promise<SendResult> {
  const started = time.now();
  const headers = await buildHeaders(req, Math.floor(started / 1000));
  const elapsed = () => time.now() - started;
  try {
    const res = await fetch(req.url, {
      method: "POST",
      headers,
      body: req.body,
      redirect: "manual",
      signal: AbortSignal.timeout(req.timeoutMs),
    });
    const body = await firstBytes(res);
    const ok = res.status >= 200 && res.status < 300;
    const retryAfter =
      res.status === 429 || res.status === 503
        ? parseRetryAfter(res.headers.get("Retry-After"))
        : null;
    let error: string | null = null;
    if (res.status >= 300 && res.status < 400) error = "redirect not followed";
    else if (!ok) error = `HTTP ${res.status}`;
    return { ok, status: res.status, body, durationMs: elapsed(), error, retryAfter };
  } catch (err) {
    const name = (err as Error)?.name;
    const error =
      name === "TimeoutError" || name === "AbortError"
        ? `timed out after ${req.timeoutMs} ms`
        : `request failed: ${(err as Error)?.message ?? String(err)}`;
    return { ok: false, status: null, body: null, durationMs: elapsed(), error, retryAfter: null };
  }
}
