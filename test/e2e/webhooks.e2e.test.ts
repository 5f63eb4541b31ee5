import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiOf, type DevServer, startDevServer } from "./support/dev-server";
import { type Receiver, startReceiver, waitFor } from "./support/receiver";

let server: DevServer;
let receiver: Receiver;

beforeAll(async () => {
  [server, receiver] = await Promise.all([startDevServer(), startReceiver()]);
  // Down for the first delivery, back for its retry.
  receiver.answer.set("/hook", (_, nth) => (nth === 1 ? 500 : 200));
});

afterAll(async () => {
  await server?.stop();
  await receiver?.close();
});

const api = (method: string, path: string, body?: unknown) => apiOf(server)(method, path, body);

describe("webhooks under wrangler dev, with a real receiver", () => {
  it("retries a failed delivery through the local Queue: two arrivals, both logged", async () => {
    const type = await api("POST", "/api/webhooks/event-types", {
      event_type: "package-created",
      description: "A package was created",
    });
    expect(type.status).toBe(201);
    const hook = await api("POST", "/whisperer/hooks/", {
      event_type: "package-created",
      target_url: `${receiver.base}/hook`,
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
    expect(log[1].response_body).toBe("not now");

    expect(receiver.arrivals).toHaveLength(2);
    const verifier = new Webhook(hook.body.secret_key);
    for (const { headers, body } of receiver.arrivals) {
      expect(headers["x-whisperer-event"]).toBe("package-created");
      expect(headers["webhook-id"]).toBe(event_uuid);
      expect(verifier.verify(body, headers as Record<string, string>)).toEqual({
        event: { type: "package-created", uuid: event_uuid },
        data: { id: 7, name: "left-pad" },
      });
    }
  });
});
