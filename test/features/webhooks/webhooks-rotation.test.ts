import { createExecutionContext } from "cloudflare:test";
import { createHmac, createPublicKey, verify } from "node:crypto";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { rotationOverlapMs } from "../../../src/features/webhooks/secrets";
import { ADMIN, call, expectErrorShape } from "../../helpers/http";
import {
  type Captured,
  captureFetch,
  consume,
  emit,
  fakeClock,
  freshEventType,
  subscribe,
  subscriberToken,
  testEnv,
  uid,
} from "../../helpers/webhooks";
import worker from "../../helpers/worker";

const url = () => `https://example.com/${uid()}`;
const HOUR = 3600;
const clock = fakeClock();

/** Emits one event to `type` and runs the consumer on it: the one captured POST. */
async function deliverOnce(type: string): Promise<Captured> {
  const { calls } = captureFetch();
  const t = testEnv();
  await emit(t.env, type, { n: 1 });
  await consume(t.env, t.sent[0]?.body.delivery_id as number);
  expect(calls).toHaveLength(1);
  return calls[0] as Captured;
}

async function rotate(id: string, token = ADMIN, body?: unknown, prefix = "/api/webhooks") {
  return call("POST", `${prefix}/${id}/rotate-secret`, { token, body });
}

const signaturesOf = (req: Captured) => (req.headers["webhook-signature"] ?? "").split(" ");

/** True when `signature` (`v1a,<base64>`) verifies with `whpk_…`, as a Node receiver checks it. */
function ed25519Verifies(publicKey: string, req: Captured, signature: string): boolean {
  const raw = Buffer.from(publicKey.slice("whpk_".length), "base64");
  const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), raw]);
  const key = createPublicKey({ key: spki, format: "der", type: "spki" });
  const signed = `${req.headers["webhook-id"]}.${req.headers["webhook-timestamp"]}.${req.body}`;
  const sig = Buffer.from(signature.slice("v1a,".length), "base64");
  return verify(null, Buffer.from(signed), key, sig);
}

describe("hmac secret rotation", () => {
  it("answers the new secret, and signs by both secrets for the overlap, then by the new one", async () => {
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: url() });
    const old = hook.secret_key;
    const res = await rotate(hook.id);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(["secret_key"]);
    const fresh = res.body.secret_key as string;
    expect(fresh).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(fresh).not.toBe(old);

    const during = await deliverOnce(type);
    const signatures = signaturesOf(during);
    expect(signatures).toHaveLength(2);
    expect(signatures.every((s) => s.startsWith("v1,"))).toBe(true);
    // The new secret signs first; a receiver on either secret accepts the delivery.
    const onlyFirst = { ...during.headers, "webhook-signature": signatures[0] as string };
    expect(new Webhook(fresh).verify(during.body, onlyFirst)).toEqual(JSON.parse(during.body));
    expect(new Webhook(old).verify(during.body, during.headers)).toEqual(JSON.parse(during.body));
    const key = Buffer.from(fresh.slice("whsec_".length), "base64");
    const whisperer = createHmac("sha256", key).update(during.body).digest("hex");
    expect(during.headers["x-whisperer-signature"]).toBe(`sha256=${whisperer}`);

    clock.advance(24 * HOUR - 60);
    expect(signaturesOf(await deliverOnce(type))).toHaveLength(2);
    clock.advance(61);
    const after = await deliverOnce(type);
    expect(signaturesOf(after)).toHaveLength(1);
    expect(new Webhook(fresh).verify(after.body, after.headers)).toEqual(JSON.parse(after.body));
    expect(() => new Webhook(old).verify(after.body, after.headers)).toThrow(
      WebhookVerificationError,
    );
  });

  it("sets the secret given in the body, on the dj-whisperer alias too", async () => {
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: url() });
    const chosen = `whsec_${btoa("a chosen secret of 24 bytes!")}`;
    const res = await rotate(hook.id, ADMIN, { secret_key: chosen }, "/whisperer/hooks");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ secret_key: chosen });
    const req = await deliverOnce(type);
    const first = { ...req.headers, "webhook-signature": signaturesOf(req)[0] as string };
    expect(new Webhook(chosen).verify(req.body, first)).toEqual(JSON.parse(req.body));
  });

  it("never shows a secret in GET or the list, and tells until when the old one signs", async () => {
    const token = await subscriberToken();
    const hook = await subscribe({ event_type: await freshEventType(), target_url: url() }, token);
    const fresh = (await rotate(hook.id, token)).body.secret_key as string;
    const got = await call("GET", `/api/webhooks/${hook.id}`, { token });
    const listed = await call("GET", "/api/webhooks", { token });
    for (const text of [JSON.stringify(got.body), JSON.stringify(listed.body)]) {
      expect(text).not.toContain(hook.secret_key);
      expect(text).not.toContain(fresh);
      expect(text).not.toContain("whsec_");
    }
    expect(got.body).toMatchObject({ signature: "hmac", public_key: null });
    expect(got.body.previous_secret_expires_at).toBe(
      new Date(clock.now() + 24 * HOUR * 1000).toISOString(),
    );
    clock.advance(24 * HOUR);
    // The admin reads it: the client token has expired by now.
    const later = await call("GET", `/api/webhooks/${hook.id}`, { token: ADMIN });
    expect(later.body.previous_secret_expires_at).toBeNull();
  });

  it("keeps two secrets at most: a second rotation drops the oldest", async () => {
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: url() });
    const second = (await rotate(hook.id)).body.secret_key as string;
    const third = (await rotate(hook.id)).body.secret_key as string;
    const req = await deliverOnce(type);
    expect(signaturesOf(req)).toHaveLength(2);
    for (const secret of [third, second]) {
      expect(new Webhook(secret).verify(req.body, req.headers)).toEqual(JSON.parse(req.body));
    }
    expect(() => new Webhook(hook.secret_key).verify(req.body, req.headers)).toThrow(
      WebhookVerificationError,
    );
  });

  it("lets users rotate only their own hooks (404 otherwise); the admin rotates any", async () => {
    const owner = await subscriberToken("owner");
    const other = await subscriberToken("other");
    const hook = await subscribe({ event_type: await freshEventType(), target_url: url() }, owner);
    const denied = await rotate(hook.id, other);
    expect(denied.status).toBe(404);
    expectErrorShape(denied.body);
    expect((await rotate(hook.id, owner)).status).toBe(200);
    expect((await rotate(hook.id, ADMIN)).status).toBe(200);
    expect((await rotate("no-such-hook", ADMIN)).status).toBe(404);
    expect((await call("POST", `/api/webhooks/${hook.id}/rotate-secret`)).status).toBe(401);
  });

  it("answers 400 naming the field for an unusable or unknown body field", async () => {
    const hook = await subscribe({ event_type: await freshEventType(), target_url: url() });
    const bad = await rotate(hook.id, ADMIN, { secret_key: "whsec_!!!" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toHaveProperty("secret_key");
    const unknown = await rotate(hook.id, ADMIN, { secret: "x" });
    expect(unknown.status).toBe(400);
    expectErrorShape(unknown.body);
  });

  it("takes the overlap from ROTATION_OVERLAP_HOURS at rotation time (0: the old secret stops)", async () => {
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: url() });
    const res = await worker.fetch(
      new Request(`http://switchboard.test/api/webhooks/${hook.id}/rotate-secret`, {
        method: "POST",
        headers: { Authorization: `Bearer ${ADMIN}` },
      }),
      testEnv({ ROTATION_OVERLAP_HOURS: "0" }).env,
      createExecutionContext(),
    );
    expect(res.status).toBe(200);
    const { secret_key: fresh } = (await res.json()) as { secret_key: string };
    const req = await deliverOnce(type);
    expect(signaturesOf(req)).toHaveLength(1);
    expect(new Webhook(fresh).verify(req.body, req.headers)).toEqual(JSON.parse(req.body));
  });

  it("reads ROTATION_OVERLAP_HOURS: hours, 0 allowed, 24 when unset or unreadable", () => {
    expect(rotationOverlapMs({ ROTATION_OVERLAP_HOURS: "1.5" })).toBe(5_400_000);
    expect(rotationOverlapMs({ ROTATION_OVERLAP_HOURS: "0" })).toBe(0);
    expect(rotationOverlapMs({ ROTATION_OVERLAP_HOURS: "soon" })).toBe(86_400_000);
    expect(rotationOverlapMs({ ROTATION_OVERLAP_HOURS: "-3" })).toBe(86_400_000);
  });
});

describe("ed25519 hooks", () => {
  it("answers the public key, never the secret, and signs v1a verified by node:crypto", async () => {
    const type = await freshEventType();
    const created = await call("POST", "/api/webhooks", {
      token: ADMIN,
      body: { event_type: type, target_url: url(), signature: "ed25519" },
    });
    expect(created.status).toBe(201);
    expect(created.body.signature).toBe("ed25519");
    expect(created.body.public_key).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    expect(created.body).not.toHaveProperty("secret_key");
    const got = await call("GET", `/api/webhooks/${created.body.id}`, { token: ADMIN });
    expect(got.body.public_key).toBe(created.body.public_key);
    const listed = await call("GET", "/api/webhooks?limit=200", { token: ADMIN });
    for (const text of [created, got, listed].map((r) => JSON.stringify(r.body))) {
      expect(text).not.toContain("whsk_");
      expect(text).not.toContain("secret_key");
    }

    const req = await deliverOnce(type);
    const [signature, ...rest] = signaturesOf(req);
    expect(rest).toEqual([]);
    expect(signature).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    expect(ed25519Verifies(created.body.public_key, req, signature as string)).toBe(true);
    const tampered = { ...req, body: req.body.replace('"n":1', '"n":2') };
    expect(ed25519Verifies(created.body.public_key, tampered, signature as string)).toBe(false);
    // dj-whisperer's header is an HMAC with a shared secret, which an ed25519 hook has not.
    expect(req.headers).not.toHaveProperty("x-whisperer-signature");
  });

  it("rotates to a new key pair: answers the new public key, both sign for the overlap", async () => {
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: url(), signature: "ed25519" });
    const old = hook.public_key as string;
    const res = await rotate(hook.id);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(["public_key"]);
    const fresh = res.body.public_key as string;
    expect(fresh).toMatch(/^whpk_/);
    expect(fresh).not.toBe(old);
    const got = await call("GET", `/api/webhooks/${hook.id}`, { token: ADMIN });
    expect(got.body.public_key).toBe(fresh);

    const during = await deliverOnce(type);
    const [first, second] = signaturesOf(during) as [string, string];
    expect(ed25519Verifies(fresh, during, first)).toBe(true);
    expect(ed25519Verifies(old, during, second)).toBe(true);

    clock.advance(24 * HOUR + 1);
    const after = signaturesOf(await deliverOnce(type));
    expect(after).toHaveLength(1);
    const req = await deliverOnce(type);
    expect(ed25519Verifies(fresh, req, signaturesOf(req)[0] as string)).toBe(true);
  });

  it("refuses a chosen secret: at create, on rotation and by PATCH (400 naming secret_key)", async () => {
    const type = await freshEventType();
    const withSecret = await call("POST", "/api/webhooks", {
      token: ADMIN,
      body: { event_type: type, target_url: url(), signature: "ed25519", secret_key: "whsk_x" },
    });
    expect(withSecret.status).toBe(400);
    expect(withSecret.body.error.details).toHaveProperty("secret_key");
    const hook = await subscribe({ event_type: type, target_url: url(), signature: "ed25519" });
    const rotated = await rotate(hook.id, ADMIN, { secret_key: "whsec_YWJj" });
    expect(rotated.status).toBe(400);
    expect(rotated.body.error.details).toHaveProperty("secret_key");
    const patched = await call("PATCH", `/api/webhooks/${hook.id}`, {
      token: ADMIN,
      body: { secret_key: "whsec_YWJj" },
    });
    expect(patched.status).toBe(400);
    expect(patched.body.error.details).toHaveProperty("secret_key");
  });

  it("answers 400 naming the field for an unknown signature scheme, and it is create-only", async () => {
    const type = await freshEventType();
    for (const signature of ["rsa", "", 1, null, "HMAC"]) {
      const res = await call("POST", "/api/webhooks", {
        token: ADMIN,
        body: { event_type: type, target_url: url(), signature },
      });
      expect(res.status, JSON.stringify(signature)).toBe(400);
      expectErrorShape(res.body);
      expect(res.body.error.details).toHaveProperty("signature");
    }
    const hook = await subscribe({ event_type: type, target_url: url() });
    const patched = await call("PATCH", `/api/webhooks/${hook.id}`, {
      token: ADMIN,
      body: { signature: "ed25519" },
    });
    expect(patched.status).toBe(400);
  });
});
