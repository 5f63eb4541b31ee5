import { runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import { connect, type TestSocket } from "../ws";
import type { FuzzFrame } from "./frame-arbitraries";
import { expectFrameError } from "./support";

/** Below the per-socket burst (100 frames), so fuzzing never trips the 50 frames/s limit. */
const FRAMES_PER_SOCKET = 60;

let counter = 0;

/** What every actor of a file sent and saw, for the soak's figures and its floor. */
export const frameStats = { sent: 0, serverErrors: 0, socketsClosed: 0 };

/** Counts one answered frame: its status, and whether the socket it went on is still open. */
export function countFrame(answer: any, socket: TestSocket): void {
  frameStats.sent++;
  const status = answer?.event === "error" ? answer.data?.status : answer?.status;
  if (typeof status !== "number" || status >= 500) frameStats.serverErrors++;
  if (socket.closed) frameStats.socketsClosed++;
}

/**
 * One user fuzzing a room. An anchor socket of the same user stays open the whole time, so
 * rotating the fuzzing socket (to stay under the frame rate limit) never changes who is present.
 */
export class Actor {
  private sent = 0;
  readonly frames: { family: string; status: number }[] = [];

  private constructor(
    readonly path: string,
    readonly token: string,
    readonly anchor: TestSocket,
    public socket: TestSocket,
  ) {}

  static async open(path: string, token: string): Promise<Actor> {
    const anchor = await connect(path, token);
    return new Actor(path, token, anchor, await connect(path, token));
  }

  /** Sends one frame and checks its answer: a 4xx in the contract's shape, socket still open. */
  async refused(frame: FuzzFrame): Promise<void> {
    if (this.sent >= FRAMES_PER_SOCKET) {
      this.socket.close();
      this.socket = await connect(this.path, this.token);
      this.sent = 0;
    }
    this.sent++;
    const rid = `fuzz-${++counter}`;
    this.socket.ws.send(frame.make(rid));
    const answer = await this.socket.next(
      (f) => (f?.request_id === rid && "status" in f) || f?.event === "error",
      `the answer to a '${frame.family}' frame`,
    );
    countFrame(answer, this.socket);
    const error = expectFrameError(answer, frame.family);
    if (frame.status !== undefined) expect(error.status, frame.family).toBe(frame.status);
    if (frame.unknownEvent !== undefined) {
      expect(error.errors.join(" "), frame.family).toContain(frame.unknownEvent);
    }
    expect(this.socket.closed, `${frame.family}: the socket closed`).toBeNull();
    this.frames.push({ family: frame.family, status: error.status });
  }

  close(): void {
    this.socket.close();
    this.anchor.close();
  }
}

/** Every table of a room's own SQLite storage (stream, meta, KV), for before/after checks. */
export function snapshotRoom(stub: DurableObjectStub): Promise<Record<string, string>> {
  return runInDurableObject(stub, (_instance: unknown, state: DurableObjectState) => {
    const sql = state.storage.sql;
    const names = sql
      .exec<{ name: string }>(
        // Presence connections are sockets (an actor may reconnect), not something a frame stored.
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('_cf_METADATA', 'presence_connections') ORDER BY name",
      )
      .toArray()
      .map((r) => r.name);
    return Object.fromEntries(
      names.map((name) => [name, JSON.stringify(sql.exec(`SELECT * FROM "${name}"`).toArray())]),
    );
  });
}
