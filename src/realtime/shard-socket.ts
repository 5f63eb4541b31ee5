import type { Member } from "./member";
import type { ShardEffects } from "./shard-protocol";

/**
 * Stands in, inside the room, for a socket that lives on a shard while a room hook runs for it
 * (a command, a join, a credential refresh): the hook sends, saves the member and closes as it
 * would on a socket of its own, and the shard replays those effects on the real socket. The
 * room's hooks stay unaware of shards. It is not in the room's socket list, so broadcasts and
 * stream events reach the real socket through the shard's feed, never twice.
 */
export class ShardSocket<S> {
  readonly readyState = WebSocket.OPEN;
  private readonly sent: string[] = [];
  private closed: ShardEffects<S>["close"] = null;

  constructor(
    /** The shard socket's id, so a broadcast can leave its sender out on the shard. */
    readonly socketId: string,
    private member: Member<S>,
  ) {}

  send(text: string): void {
    if (!this.closed) this.sent.push(text);
  }

  close(code = 1000, reason = ""): void {
    this.closed ??= { code, reason };
  }

  serializeAttachment(member: Member<S>): void {
    this.member = member;
  }

  deserializeAttachment(): Member<S> {
    return this.member;
  }

  effects(): ShardEffects<S> {
    return { sends: this.sent.splice(0), member: this.member, close: this.closed };
  }

  /** Typed as the socket the hooks expect; only the members above are ever used on it. */
  asWebSocket(): WebSocket {
    return this as unknown as WebSocket;
  }
}

export function isShardSocket(ws: WebSocket): boolean {
  return (ws as unknown) instanceof ShardSocket;
}

export function shardSocketId(ws: WebSocket): string | undefined {
  return (ws as unknown) instanceof ShardSocket
    ? (ws as unknown as ShardSocket<unknown>).socketId
    : undefined;
}
