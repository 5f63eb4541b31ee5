import type { z } from "zod";
import type { Member } from "./member";
import type { RequestId } from "./protocol";

export interface CommandContext<D, S> {
  ws: WebSocket;
  member: Member<S>;
  data: D;
  requestId?: RequestId;
}

/**
 * One client event of a room: the permission it needs (checked before anything runs),
 * the zod schema of its `data`, and the handler. What the handler returns is the reply's `data`.
 */
export interface Command<D, S> {
  permission?: string;
  schema: z.ZodType<D>;
  handle(ctx: CommandContext<D, S>): unknown | Promise<unknown>;
}

// biome-ignore lint/suspicious/noExplicitAny: a table holds commands of different data types.
export type CommandTable<S> = Record<string, Command<any, S>>;
