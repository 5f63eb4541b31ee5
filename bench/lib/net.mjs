// Loopback clients: keep-alive HTTP with JSON, and WebSockets opened with bounded concurrency.
import http from "node:http";
import WebSocket from "ws";

const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });

/**
 * One HTTP request; resolves with the status and the body (parsed when it is JSON). A request
 * sent on a kept-alive connection that the server closed meanwhile (ECONNRESET, "socket hang
 * up", before any answer) never reached it: it is sent once more, as Node's docs advise, and
 * counted in `retries`.
 */
export async function request(method, url, options = {}) {
  try {
    return await requestOnce(method, url, options);
  } catch (err) {
    if (!err.reusedSocket || err.code !== "ECONNRESET" || options.signal?.aborted) throw err;
    retries.count++;
    return requestOnce(method, url, options);
  }
}

function requestOnce(method, url, { body, token, signal, timeoutMs = 70_000 } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers = { "content-type": "application/json" };
    if (payload) headers["content-length"] = payload.length;
    if (token) headers.authorization = `Bearer ${token}`;
    const req = http.request(url, { method, agent, headers, signal, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        let json;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, json, text });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on("error", (err) => {
      err.reusedSocket = req.reusedSocket;
      reject(err);
    });
    req.end(payload);
  });
}

/**
 * `wrangler dev` answers 503 "Your worker restarted mid-request" when its proxy loses the
 * connection to the worker (seen under load here, with the worker still running). A client
 * repeats such a call; `retries` counts them (and resent requests, above) so results.json can
 * say how often it happened.
 */
export const retries = { count: 0 };

export async function requestRetrying(method, url, options) {
  for (let attempt = 1; ; attempt++) {
    const res = await request(method, url, options);
    if (res.status !== 503 || !res.text.includes("restarted mid-request") || attempt === 3) {
      return res;
    }
    retries.count++;
  }
}

export async function expectStatus(promise, status, what) {
  const res = await promise;
  if (res.status !== status) {
    throw new Error(`${what}: expected ${status}, got ${res.status} ${res.text.slice(0, 300)}`);
  }
  return res.json;
}

/** Opens one socket; rejects on refusal or after `timeoutMs`. */
export function openSocket(url, onMessage, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`WebSocket ${url} did not open in ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on("open", () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.on("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`WebSocket ${url.replace(/token=[^&]+/, "token=…")}: ${res.statusCode}`));
    });
    ws.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (onMessage) ws.on("message", onMessage);
  });
}

/** Opens `count` sockets with at most `concurrency` handshakes in flight. */
export async function openSockets(count, url, onMessage, concurrency = 64) {
  const sockets = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      sockets[index] = await openSocket(typeof url === "function" ? url(index) : url, (data) =>
        onMessage?.(data, index),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return sockets;
}

/** Closes sockets and waits (bounded) until they are closed. */
export async function closeSockets(sockets, timeoutMs = 10_000) {
  const open = sockets.filter((ws) => ws && ws.readyState !== WebSocket.CLOSED);
  await Promise.race([
    Promise.all(
      open.map(
        (ws) =>
          new Promise((resolve) => {
            ws.once("close", resolve);
            ws.close();
          }),
      ),
    ),
    new Promise((resolve) => setTimeout(resolve, timeoutMs)),
  ]);
  for (const ws of open) if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
