import * as time from "../platform/time";
/** Token bucket per socket: 50 frames/s sustained with a short burst (contract §2). */
export const FRAMES_PER_SECOND = 50;
const BURST = 100;

interface Bucket {
  tokens: number;
  at: number;
}

export class FrameRateLimiter {
  // In memory only: a hibernated room has had no recent frames, so a fresh bucket is right.
  private readonly buckets = new WeakMap<WebSocket, Bucket>();

  allow(ws: WebSocket, now = time.now()): boolean {
    const bucket = this.buckets.get(ws) ?? { tokens: BURST, at: now };
    bucket.tokens = Math.min(BURST, bucket.tokens + ((now - bucket.at) / 1000) * FRAMES_PER_SECOND);
    bucket.at = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.buckets.set(ws, bucket);
    return allowed;
  }
}
