import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/** One POST a receiver got: where, what, when (ms since it started) and what it answered. */
export interface Arrival {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  status: number;
}

/** What a path answers to its `nth` arrival: a status, or a status with headers and a body. */
export type Answer = (
  arrival: Omit<Arrival, "status">,
  nth: number,
) => number | { status: number; headers?: Record<string, string>; body?: string };

export interface Receiver {
  /** `http://127.0.0.1:<port>`: hooks target `${base}/<path>`. */
  base: string;
  arrivals: Arrival[];
  /** Per path; a path without one answers 200. */
  answer: Map<string, Answer>;
  close(): Promise<void>;
}

/** A real local webhook receiver on a free port that records every arrival. */
export function startReceiver(): Promise<Receiver> {
  const arrivals: Arrival[] = [];
  const answer = new Map<string, Answer>();
  const started = performance.now();
  const server = createServer((req, res) => {
    const at = performance.now() - started;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = req.url ?? "/";
      const seen = { path, headers: req.headers, body: Buffer.concat(chunks).toString(), at };
      const nth = arrivals.filter((a) => a.path === path).length + 1;
      const said = (answer.get(path) ?? (() => 200))(seen, nth);
      const { status, headers, body } = typeof said === "number" ? { status: said } : said;
      arrivals.push({ ...seen, status });
      res.writeHead(status, headers);
      res.end(body ?? (status < 300 ? "ok" : "not now"));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        base: `http://127.0.0.1:${port}`,
        arrivals,
        answer,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

/** The delivery payload of an arrival. */
export function payloadOf(arrival: Pick<Arrival, "body">): {
  event: { type: string; uuid: string };
  data: Record<string, any>;
} {
  return JSON.parse(arrival.body);
}

/** Polls `check` until it gives a value (not null, undefined or false). */
export async function waitFor<T>(
  what: string,
  check: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== null && value !== undefined && value !== false) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
