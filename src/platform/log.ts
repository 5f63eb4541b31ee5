import * as time from "./time";

/**
 * The server's one logger: one JSON object per line, which Workers Logs and `wrangler tail`
 * index by field. Only the fields below are written, so a request or message body cannot ride
 * along, and every string is scrubbed of known credential shapes in case one is passed by
 * mistake (an error message that quotes a header, a URL with `?token=`).
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface LogFields {
  /** The HTTP request's id (`X-Request-Id`), when the line is about one. */
  request_id?: string;
  /** `<Class>:<room id>` of the Durable Object the line is about. */
  room?: string;
  /** What happened, as a short stable name (`room.error`, `webhook.attempt_failed`). */
  event?: string;
  duration_ms?: number;
  /** An HTTP status the line is about (a webhook answer, a refused frame). */
  status?: number;
  /** How many things the line is about (deliveries re-enqueued, events recorded). */
  count?: number;
  /** The error, reduced to its name, message and stack. */
  error?: unknown;
}

/** The longest string kept in a line; the rest is cut, so one line stays one line. */
const MAX_TEXT = 2_000;
const REDACTED = "[redacted]";

/**
 * Credential shapes (the auth schemes, our API keys and webhook secrets, JWTs, query tokens), and
 * the bound values drizzle appends to a failed query's error (`params: …`), which can be a body.
 */
const SECRET_SHAPES: [RegExp, string][] = [
  [/^(\s*)params:.*$/gm, `$1params: ${REDACTED}`],
  [/\b(Bearer|Token|Basic)\s+[^\s"',;]+/gi, `$1 ${REDACTED}`],
  [/\b(sbk|whsec|whsk|whpk)_[A-Za-z0-9+/=_-]+/g, `$1_${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, REDACTED],
  [/([?&](?:token|key|secret|password)=)[^&\s"']+/gi, `$1${REDACTED}`],
];

/** `text` without anything shaped like a credential. */
export function redact(text: string): string {
  let out = text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
  for (const [shape, replacement] of SECRET_SHAPES) out = out.replace(shape, replacement);
  return out;
}

/** Writes one line; never throws (a log call must not fail the work it reports on). */
export function log(level: LogLevel, message: string, fields: LogFields = {}): void {
  const line: Record<string, unknown> = {
    level,
    time: time.nowIso(),
    message: redact(message),
  };
  for (const key of ["request_id", "room", "event"] as const) {
    const value = fields[key];
    if (typeof value === "string") line[key] = redact(value);
  }
  for (const key of ["duration_ms", "status", "count"] as const) {
    const value = fields[key];
    if (typeof value === "number" && Number.isFinite(value)) line[key] = value;
  }
  if (fields.error !== undefined) line.error = errorFields(fields.error);
  const text = JSON.stringify(line);
  // The console method sets the line's level in Workers Logs; the line itself is the JSON.
  if (level === "error") console.error(text);
  else if (level === "warn") console.warn(text);
  else console.log(text);
}

export const logger = {
  debug: (message: string, fields?: LogFields) => log("debug", message, fields),
  info: (message: string, fields?: LogFields) => log("info", message, fields),
  warn: (message: string, fields?: LogFields) => log("warn", message, fields),
  error: (message: string, fields?: LogFields) => log("error", message, fields),
};

function errorFields(err: unknown): Record<string, string> {
  if (err instanceof Error) {
    const out: Record<string, string> = { name: err.name, message: redact(err.message) };
    if (err.stack) out.stack = redact(err.stack);
    return out;
  }
  return { message: redact(typeof err === "string" ? err : safeString(err)) };
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
