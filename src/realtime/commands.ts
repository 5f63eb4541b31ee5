import type { z } from "zod";
import type { RequestId } from "../protocol";
import type { Member } from "./member";
import type { Outcome } from "./room-queue";

export interface CommandContext<D, S> {
  ws: WebSocket;
  member: Member<S>;
  data: D;
  requestId?: RequestId;
}

interface CommandBase<D> {
  permission?: string;
  schema: z.ZodType<D>;
}

/**
 * One client event of a room: the permission it needs (checked before anything runs),
 * the zod schema of its `data`, and the handler. What the handler returns is the reply's `data`.
 * Handlers run one at a time (the room's queue) unless the command changes nothing (`concurrent`).
 */
export interface SingleCommand<D, S> extends CommandBase<D> {
  concurrent?: boolean;
  handle(ctx: CommandContext<D, S>): unknown | Promise<unknown>;
}

/**
 * A command whose frames that queue up while the room is busy are handled together, in arrival
 * order (one D1 batch and one broadcast for many votes). One outcome per frame: its reply.
 */
export interface BatchCommand<D, S> extends CommandBase<D> {
  handleBatch(frames: CommandContext<D, S>[]): Promise<Outcome[]>;
}

export type Command<D, S> = SingleCommand<D, S> | BatchCommand<D, S>;

// biome-ignore lint/suspicious/noExplicitAny: a table holds commands of different data types.
export type CommandTable<S> = Record<string, Command<any, S>>;
