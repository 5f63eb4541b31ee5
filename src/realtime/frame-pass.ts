import { BATCH_ON, BATCH_PARAM, packFrames } from "../protocol/batched-frames";

/**
 * A delivery pass (contract §2's `?batch=1`): while one is open, text frames for sockets that
 * asked for coalesced frames are held, and when it closes each such socket gets its frames as
 * one JSON array (one frame alone goes out as itself). Other sockets are written at once.
 *
 * A pass runs a synchronous function: nothing else runs in the object meanwhile, so the held
 * frames are exactly the ones that pass produced, and per-socket order is the send order.
 * Passes nest; the outermost one sends.
 */
export class FramePass {
  private depth = 0;
  private held = new Map<WebSocket, string[]>();

  constructor(
    private readonly batched: (ws: WebSocket) => boolean,
    private readonly write: (ws: WebSocket, text: string) => void,
  ) {}

  send(ws: WebSocket, text: string): void {
    if (this.depth === 0 || !this.batched(ws)) {
      this.write(ws, text);
      return;
    }
    const list = this.held.get(ws);
    if (list) list.push(text);
    else this.held.set(ws, [text]);
  }

  /**
   * `frames`: how many frames the pass sends each socket at most, when the caller knows. One
   * frame per socket is sent as it is: holding and packing it would only cost time.
   */
  run<T>(fn: () => T, frames = Number.POSITIVE_INFINITY): T {
    if (frames <= 1) return fn();
    this.depth += 1;
    try {
      return fn();
    } finally {
      this.depth -= 1;
      if (this.depth === 0) this.flush();
    }
  }

  private flush(): void {
    if (!this.held.size) return;
    const held = this.held;
    this.held = new Map();
    for (const [ws, texts] of held) {
      for (const text of packFrames(texts)) this.write(ws, text);
    }
  }
}

/** Whether an upgrade request asks for coalesced frames (`?batch=1`). */
export function wantsBatches(request: Request): boolean {
  return new URL(request.url).searchParams.get(BATCH_PARAM) === BATCH_ON;
}
