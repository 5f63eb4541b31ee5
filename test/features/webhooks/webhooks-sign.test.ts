import { createHmac } from "node:crypto";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { buildHeaders, parseRetryAfter } from "../../../src/features/webhooks/send";
import {
  generateSecret,
  standardSignature,
  whispererSignature,
} from "../../../src/features/webhooks/sign";

const request = (secret: string, body: string) => ({
  url: "https://example.com/",
  secret,
  eventType: "package-created",
  eventUuid: "5f1c9f1e0b7b4c1a9d1f2e3a4b5c6d7e",
  body,
  basicAuth: null,
  timeoutMs: 1000,
});

const headersOf = (h: Headers) => Object.fromEntries(h);

describe("webhook signatures", () => {
  it("matches the Standard Webhooks test vector", async () => {
    const signature = await standardSignature(
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      1614265330,
      '{"test": 2432232314}',
    );
    expect(signature).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("is verified by the standardwebhooks package for a whsec_ secret", async () => {
    const secret = generateSecret();
    const body = JSON.stringify({ event: { type: "x", uuid: "u" }, data: { n: 1 } });
    const headers = await buildHeaders(request(secret, body), Math.floor(Date.now() / 1000));
    expect(new Webhook(secret).verify(body, headersOf(headers))).toEqual(JSON.parse(body));
  });

  it("is verified for a plain secret, keyed by its UTF-8 bytes", async () => {
    const secret = "plain secret – ünïcode";
    const body = '{"data":{"a":1}}';
    const headers = await buildHeaders(request(secret, body), Math.floor(Date.now() / 1000));
    const verifier = new Webhook(new TextEncoder().encode(secret), { format: "raw" });
    expect(verifier.verify(body, headersOf(headers))).toEqual({ data: { a: 1 } });
  });

  it("fails verification for a tampered body", async () => {
    const secret = generateSecret();
    const headers = await buildHeaders(request(secret, '{"a":1}'), Math.floor(Date.now() / 1000));
    expect(() => new Webhook(secret).verify('{"a":2}', headersOf(headers))).toThrow(
      WebhookVerificationError,
    );
  });

  it("signs the body for dj-whisperer receivers as sha256=<hex>", async () => {
    const body = '{"x":1}';
    const expected = createHmac("sha256", Buffer.from("plain", "utf8")).update(body).digest("hex");
    expect(await whispererSignature("plain", body)).toBe(`sha256=${expected}`);
    const secret = generateSecret();
    const key = Buffer.from(secret.slice("whsec_".length), "base64");
    const keyed = createHmac("sha256", key).update(body).digest("hex");
    expect(await whispererSignature(secret, body)).toBe(`sha256=${keyed}`);
  });

  it("generates whsec_ secrets of 32 random bytes", () => {
    const a = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(atob(a.slice(6))).toHaveLength(32);
    expect(generateSecret()).not.toBe(a);
  });

  it("sends every Standard Webhooks and dj-whisperer header, and basic auth", async () => {
    const headers = headersOf(
      await buildHeaders(
        { ...request("s", "{}"), basicAuth: { username: "ada", password: "pw:1" } },
        1700000000,
      ),
    );
    expect(headers).toMatchObject({
      "content-type": "application/json",
      "x-whisperer-event": "package-created",
      "webhook-id": "5f1c9f1e0b7b4c1a9d1f2e3a4b5c6d7e",
      "webhook-timestamp": "1700000000",
      authorization: `Basic ${btoa("ada:pw:1")}`,
    });
    expect(headers["webhook-signature"]).toMatch(/^v1,/);
    expect(headers["x-whisperer-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
  });
});

describe("Retry-After", () => {
  it("reads seconds or an HTTP date, at most a day", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(parseRetryAfter("120", now)).toBe(120);
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:10:00 GMT", now)).toBe(600);
    expect(parseRetryAfter("999999", now)).toBe(86400);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});
