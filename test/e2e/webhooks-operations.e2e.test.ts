import { createPublicKey, verify } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiOf, type DevServer, startDevServer } from "./support/dev-server";
import { type Arrival, type Receiver, startReceiver, waitFor } from "./support/receiver";

/**
 * Contract §6 "Operations" end to end: `wrangler dev` with its local Queue and D1, and a real
 * Node receiver whose answer each test scripts per path.
 */

let server: DevServer;
let receiver: Receiver;

beforeAll(async () => {
  [server, receiver] = await Promise.all([
    // 3.6 s of failure disables a hook here, so the breaker trips within a test.
    startDevServer({ DISABLE_AFTER_HOURS: "0.001" }),
    startReceiver(),
  ]);
});

afterAll(async () => {
  await server?.stop();
  await receiver?.close();
});

const api = (method: string, path: string, body?: unknown, token?: string) =>
  apiOf(server)(method, path, body, token);

let types = 0;
/** A fresh app event type (optionally typed by a JSON Schema) and its name. */
async function newType(schema?: object): Promise<string> {
  const name = `ops-${++types}`;
  const res = await api("POST", "/api/webhooks/event-types", {
    event_type: name,
    description: "An operations test event",
    ...(schema ? { schema } : {}),
  });
  expect(res.status).toBe(201);
  return name;
}

async function newHook(eventType: string, path: string, extra: object = {}, token?: string) {
  const res = await api(
    "POST",
    "/api/webhooks",
    { event_type: eventType, target_url: `${receiver.base}${path}`, ...extra },
    token,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; secret_key?: string; public_key?: string };
}

async function emit(eventType: string, data: object, extra: object = {}): Promise<string> {
  const res = await api("POST", "/api/webhook-events", { event_type: eventType, data, ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.event_uuid;
}

const at = (path: string) => receiver.arrivals.filter((a) => a.path === path);

async function arrivals(path: string, count: number, ms?: number): Promise<Arrival[]> {
  return waitFor(
    `${count} arrivals at ${path}`,
    () => (at(path).length >= count ? at(path) : null),
    ms,
  );
}

async function hookLog(id: string) {
  return (await api("GET", `/api/webhooks/${id}/deliveries`)).body.results as {
    event_uuid: string;
    attempt: number;
    status: string;
  }[];
}

/** Standard Webhooks ed25519: `v1a,<base64 signature of "<id>.<timestamp>.<body>">`. */
function verifiesEd25519(publicKey: string, arrival: Arrival, signature: string): boolean {
  const key = createPublicKey({
    key: {
      kty: "OKP",
      crv: "Ed25519",
      x: Buffer.from(publicKey.slice(5), "base64").toString("base64url"),
    },
    format: "jwk",
  });
  const signed = `${arrival.headers["webhook-id"]}.${arrival.headers["webhook-timestamp"]}.${arrival.body}`;
  return verify(null, Buffer.from(signed), key, Buffer.from(signature.slice(4), "base64"));
}

describe("webhook operations under wrangler dev, with a real receiver", () => {
  it("signs with HMAC, and with both secrets for the overlap after a rotation", async () => {
    const type = await newType();
    const hook = await newHook(type, "/rotate");
    const oldSecret = hook.secret_key as string;
    await emit(type, { n: 1 });
    const [first] = await arrivals("/rotate", 1);
    expect(new Webhook(oldSecret).verify(first.body, first.headers as any)).toMatchObject({
      data: { n: 1 },
    });
    expect(String(first.headers["webhook-signature"]).split(" ")).toHaveLength(1);

    const rotated = await api("POST", `/api/webhooks/${hook.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body.secret_key as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    await emit(type, { n: 2 });
    const [, second] = await arrivals("/rotate", 2);
    // A receiver still holding the old secret and one already holding the new both verify.
    expect(String(second.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    expect(new Webhook(newSecret).verify(second.body, second.headers as any)).toMatchObject({
      data: { n: 2 },
    });
    expect(new Webhook(oldSecret).verify(second.body, second.headers as any)).toMatchObject({
      data: { n: 2 },
    });
    const shown = await api("GET", `/api/webhooks/${hook.id}`);
    expect(JSON.stringify(shown.body)).not.toContain(newSecret.slice(6));
  });

  it("signs ed25519 hooks with v1a: node:crypto verifies with the public key alone", async () => {
    const type = await newType();
    const hook = await newHook(type, "/ed25519", { signature: "ed25519" });
    expect(hook.public_key).toMatch(/^whpk_/);
    expect(JSON.stringify(hook)).not.toMatch(/whsk_|secret_key/);
    await emit(type, { signed: "ed25519" });
    const [arrival] = await arrivals("/ed25519", 1);
    const [signature] = String(arrival.headers["webhook-signature"]).split(" ");
    expect(signature).toMatch(/^v1a,/);
    expect(verifiesEd25519(hook.public_key as string, arrival, signature)).toBe(true);
    const tampered = { ...arrival, body: arrival.body.replace("ed25519", "forged!") };
    expect(verifiesEd25519(hook.public_key as string, tampered, signature)).toBe(false);
  });

  it("refuses an emit whose data does not match its type's JSON Schema, naming the path", async () => {
    const type = await newType({
      type: "object",
      properties: { amount: { type: "number" } },
      required: ["amount"],
    });
    const listed = await api("GET", "/api/webhooks/event-types?limit=100");
    expect(listed.body.results.find((t: any) => t.event_type === type)?.schema).toMatchObject({
      required: ["amount"],
    });
    await newHook(type, "/typed");
    const refused = await api("POST", "/api/webhook-events", {
      event_type: type,
      data: { amount: "ten" },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toHaveProperty(["data.amount"]);
    await emit(type, { amount: 10 });
    const [arrival] = await arrivals("/typed", 1);
    // Only the valid emit was stored and sent.
    expect(JSON.parse(arrival.body).data).toEqual({ amount: 10 });
    await new Promise((r) => setTimeout(r, 1500));
    expect(at("/typed")).toHaveLength(1);
  });

  it("recovers the failed deliveries since a time, once the receiver is back", async () => {
    const type = await newType();
    let healthy = false;
    receiver.answer.set("/recover", () => (healthy ? 200 : 500));
    const hook = await newHook(type, "/recover", { max_retries: 0 });
    const uuid = await emit(type, { invoice: 42 });
    await waitFor("the delivery to fail for good", async () =>
      (await hookLog(hook.id)).some((a) => a.status === "failed") ? true : null,
    );
    healthy = true;
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const recovered = await api("POST", `/api/webhooks/${hook.id}/recover`, { since });
    expect(recovered).toEqual({ status: 202, body: { count: 1 } });
    await waitFor("the recovered attempt to succeed", async () => {
      const log = await hookLog(hook.id);
      return log.some((a) => a.status === "succeeded") ? log : null;
    });
    expect(at("/recover").map((a) => a.headers["webhook-id"])).toEqual([uuid, uuid]);
  });

  it("disables a hook that answers 410 and alerts the admin's hooks and its owner's bus channel", async () => {
    const type = await newType();
    receiver.answer.set("/gone", () => 410);
    await newHook("webhook.endpoint_disabled", "/alerts");
    const owner = await api("POST", "/api/tokens", {
      user: { id: "ops-owner", name: "Owner" },
      permissions: [`webhooks.subscribe:${type}`],
    });
    const hook = await newHook(type, "/gone", {}, owner.body.token);
    await emit(type, { n: 1 });
    const [alert] = await arrivals("/alerts", 1);
    expect(JSON.parse(alert.body)).toMatchObject({
      event: { type: "webhook.endpoint_disabled" },
      data: { hook_id: hook.id, target_url: `${receiver.base}/gone`, reason: expect.any(String) },
    });
    expect((await api("GET", `/api/webhooks/${hook.id}`)).body.is_active).toBe(false);
    // The owner hears it on `user:<id>` (contract §4: an unknown last_message gives the oldest).
    const bus = await api(
      "POST",
      "/main/bus",
      { last_message: "x", channels: [] },
      owner.body.token,
    );
    expect(bus.body).toMatchObject({
      channel: "user:ops-owner",
      message: { type: "webhook_endpoint_disabled", hook_id: hook.id },
    });
  });

  it("disables a hook after DISABLE_AFTER_HOURS of failure, then a probe brings it back", async () => {
    const type = await newType();
    let healthy = false;
    receiver.answer.set("/outage", () => (healthy ? 200 : 500));
    const alertsBefore = at("/alerts").length;
    const hook = await newHook(type, "/outage", {
      retry_countdown_config: { choice: "fixed", kwargs: { seconds: 1 } },
      max_retries: 25,
    });
    await emit(type, { n: 1 });
    const alertsNow = await arrivals("/alerts", alertsBefore + 1, 60_000);
    const alert = JSON.parse(alertsNow[alertsNow.length - 1].body);
    expect(alert.data).toMatchObject({ hook_id: hook.id });
    expect((await api("GET", `/api/webhooks/${hook.id}`)).body.is_active).toBe(false);

    healthy = true;
    const probe = await api("POST", `/api/webhooks/${hook.id}/probe`);
    expect(probe.status).toBe(200);
    expect(probe.body).toMatchObject({ succeeded: true, is_active: true });
    expect((await api("GET", `/api/webhooks/${hook.id}`)).body.is_active).toBe(true);
  });
});
