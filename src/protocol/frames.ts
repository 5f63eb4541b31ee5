import { z } from "zod";

/**
 * The one WebSocket envelope for every room kind: client frames are parsed here with zod at the
 * socket boundary; server events, replies and error frames are typed here.
 * Client frames name their event as `event`, or `action` / `message` (the original clients).
 */
export const MAX_FRAME_BYTES = 64 * 1024;

export const requestIdSchema = z.union([z.string().max(200), z.number().finite()]);
export type RequestId = z.infer<typeof requestIdSchema>;

export const clientFrameSchema = z
  .object({
    event: z.string().min(1).max(200).optional(),
    action: z.string().min(1).max(200).optional(),
    message: z.string().min(1).max(200).optional(),
    data: z.unknown().optional(),
    request_id: requestIdSchema.optional(),
  })
  .refine((f) => f.event ?? f.action ?? f.message, {
    message: "A frame needs 'event' (or 'action' / 'message')",
    path: ["event"],
  });

/** A parsed client frame: its event name, whatever it called it. */
export interface ClientFrame {
  event: string;
  data: unknown;
  requestId?: RequestId;
}

/** Server event; `seq` only on events of the room's ordered stream. */
export interface ServerEvent<D = unknown, E extends string = string> {
  event: E;
  data: D;
  seq?: number;
  /** Person rooms echo the subscription's request id on `state_change`. */
  request_id?: RequestId;
}

/** The one answer to a client frame that carried a `request_id`. */
export interface Reply<D = unknown> {
  request_id: RequestId;
  status: number;
  errors: string[];
  data?: D;
}

/** What a failing frame without `request_id` gets. */
export type ErrorFrame = ServerEvent<{ status: number; errors: string[] }, "error">;

/** The `data` of the client's `auth` frame (answered by the base room for every kind). */
export const AuthData = z.object({ token: z.string().min(1).max(4_096) });

export type ParsedFrame =
  | { ok: true; frame: ClientFrame }
  | { ok: false; status: number; errors: string[]; requestId?: RequestId };

/** Parses raw text into a frame; never throws. Best effort to recover `request_id` for the reply. */
export function parseClientFrame(raw: string): ParsedFrame {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, status: 400, errors: ["Malformed JSON"] };
  }
  const parsed = clientFrameSchema.safeParse(json);
  if (!parsed.success) {
    const requestId = requestIdSchema.safeParse((json as { request_id?: unknown })?.request_id);
    return {
      ok: false,
      status: 400,
      errors: issuesToErrors(parsed.error),
      requestId: requestId.success ? requestId.data : undefined,
    };
  }
  const f = parsed.data;
  return {
    ok: true,
    frame: {
      event: (f.event ?? f.action ?? f.message) as string,
      data: f.data,
      requestId: f.request_id,
    },
  };
}

/** Zod issues as the strings of a reply's `errors`, each naming its field. */
export function issuesToErrors(error: z.ZodError): string[] {
  return error.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message));
}

export function exceedsFrameLimit(text: string): boolean {
  // UTF-8 needs at most 3 bytes per UTF-16 unit; only encode when the limit could be reached.
  if (text.length * 3 <= MAX_FRAME_BYTES) return false;
  return new TextEncoder().encode(text).byteLength > MAX_FRAME_BYTES;
}
