import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_ADMIN_TOKEN, type DevServer, startDevServer } from "./support/dev-server";

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local receiver that answers 500 to the first delivery and 200 afterwards. */
function startReceiver(): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.statusCode = received.length === 1 ? 500 : 200;
      res.end(received.length === 1 ? "not yet" : "ok");
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}/hook`, received, server });
    });
  });
}

async function waitFor<T>(what: string, check: () => Promise<T | null>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== null) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let server: DevServer;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  [server, receiver] = await Promise.all([startDevServer(), startReceiver()]);
});

afterAll(async () => {
  await server?.stop();
  await new Promise((r) => receiver?.server.close(r));
});

const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${DEV_ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};

describe("webhooks under wrangler dev, with a real receiver", () => {
  it("retries a failed delivery through the local Queue: two arrivals, both logged", async () => {
    const type = await api("POST", "/api/webhooks/event-types", {
      event_type: "package-created",
      description: "A package was created",
    });
    expect(type.status).toBe(201);
    const hook = await api("POST", "/whisperer/hooks/", {
      event_type: "package-created",
      target_url: receiver.url,
      retry_countdown_config: { choice: "fixed", kwargs: { seconds: 1 } },
    });
    expect(hook.status).toBe(201);
    const emitted = await api("POST", "/api/webhook-events", {
      event_type: "package-created",
      data: { id: 7, name: "left-pad" },
    });
    expect(emitted.status).toBe(202);
    const { event_uuid } = emitted.body;

    const log = await waitFor("attempt 2 to succeed", async () => {
      const res = await api("GET", `/api/webhooks/${hook.body.id}/deliveries`);
      return res.body.results.some((r: any) => r.status === "succeeded") ? res.body.results : null;
    });
    expect(log.map((r: any) => [r.attempt, r.status, r.response_status])).toEqual([
      [2, "succeeded", 200],
      [1, "failed", 500],
    ]);
    expect(log[1].response_body).toBe("not yet");

    expect(receiver.received).toHaveLength(2);
    const verifier = new Webhook(hook.body.secret_key);
    for (const { headers, body } of receiver.received) {
      expect(headers["x-whisperer-event"]).toBe("package-created");
      expect(headers["webhook-id"]).toBe(event_uuid);
      expect(verifier.verify(body, headers as Record<string, string>)).toEqual({
        event: { type: "package-created", uuid: event_uuid },
        data: { id: 7, name: "left-pad" },
      });
    }
  });
});
