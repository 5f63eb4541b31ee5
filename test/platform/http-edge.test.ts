import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../src/platform/http/edge-middleware";
import { newDb, poll } from "../helpers/bus";
import { ADMIN, BASE, call, expectErrorShape, tokenFor } from "../helpers/http";

/** What every page and answer of the Worker carries: the HTML pages' security headers. */
function expectSecurityHeaders(headers: Headers): void {
  const csp = headers.get("Content-Security-Policy") ?? "";
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain("unsafe-inline");
  expect(csp).not.toContain("unsafe-eval");
  expect(headers.get("X-Content-Type-Options")).toBe("nosniff");
  expect(headers.get("Referrer-Policy")).toBe("no-referrer");
}

/** A request body streamed in chunks, so it carries no Content-Length (chunked on the wire). */
function streamed(text: string, chunk = 64 * 1024): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + chunk));
      offset += chunk;
    },
  });
}

/** A publish whose JSON body is exactly `bytes` long (padded inside the message). */
function publishBodyOf(bytes: number): string {
  const shell = JSON.stringify({ channel: "orders", message: { type: "big", pad: "" } });
  return shell.replace('"pad":""', `"pad":"${"x".repeat(bytes - shell.length)}"`);
}

describe("security headers", () => {
  it("/docs: no inline script, the policy, nosniff and no referrer", async () => {
    const res = await SELF.fetch(`${BASE}/docs`);
    expect(res.status).toBe(200);
    expectSecurityHeaders(res.headers);
    const html = await res.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="\/[^"]+"/);
      expect(body?.trim()).toBe("");
    }
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
    const init = await SELF.fetch(`${BASE}/docs/init.js`);
    expect(init.headers.get("Content-Type")).toContain("javascript");
    expectSecurityHeaders(init.headers);
  });

  it("JSON answers and errors carry them too", async () => {
    const health = await SELF.fetch(`${BASE}/health`);
    expectSecurityHeaders(health.headers);
    const missing = await call("GET", "/api/nowhere");
    expect(missing.status).toBe(404);
    expectSecurityHeaders(missing.headers);
    // The API stays callable from any origin.
    expect(health.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(health.headers.get("Cross-Origin-Resource-Policy")).toBeNull();
  });
});

describe("request body limit (1 MiB)", () => {
  it("refuses a Content-Length over 1 MiB with 413 before parsing, and stores nothing", async () => {
    const db = newDb();
    const token = await tokenFor("edge-user");
    // Not even JSON: parsing would answer 400, so a 413 shows nothing parsed it.
    const junk = await call("POST", `/${db}/bus`, {
      token,
      rawBody: "{".repeat(2 * MAX_BODY_BYTES),
    });
    expect(junk.status).toBe(413);
    expectErrorShape(junk.body);
    expect(junk.body.error.code).toBe("payload_too_large");
    const publish = await call("POST", `/api/bus/${db}/publish`, {
      token: ADMIN,
      rawBody: publishBodyOf(2 * MAX_BODY_BYTES),
    });
    expect(publish.status).toBe(413);
    const stored = await poll(db, ADMIN, { last_message: "x", channels: ["orders"] });
    expect(stored.body).toEqual({ channel: null, message: null });
  });

  it("refuses a chunked body without a length once it passes 1 MiB", async () => {
    const request = new Request(`${BASE}/${newDb()}/bus`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${await tokenFor("edge-user")}`,
        "Content-Type": "application/json",
      },
      body: streamed("{".repeat(MAX_BODY_BYTES + 200_000)),
      duplex: "half",
    } as RequestInit);
    expect(request.headers.get("Content-Length")).toBeNull();
    const res = await SELF.fetch(request);
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error.code).toBe("payload_too_large");
  });

  it("passes a chunked body under the limit through to the route intact", async () => {
    const db = newDb();
    const res = await SELF.fetch(`${BASE}/api/bus/${db}/publish`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
      body: streamed(JSON.stringify({ channel: "orders", message: { type: "small", n: 7 } }), 5),
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(201);
    const stored = await poll(db, ADMIN, { last_message: "x", channels: ["orders"] });
    expect(stored.body.message).toMatchObject({ type: "small", n: 7 });
  });

  it("lets exactly 1 MiB through to the route, whose own bounds refuse it with 400; one byte more is a 413", async () => {
    const token = await tokenFor("edge-user");
    const exact = publishBodyOf(MAX_BODY_BYTES);
    expect(new TextEncoder().encode(exact).byteLength).toBe(MAX_BODY_BYTES);
    const res = await call("POST", `/${newDb()}/bus`, { token, rawBody: exact });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toHaveProperty("channels");
    const over = await call("POST", `/${newDb()}/bus`, {
      token,
      rawBody: publishBodyOf(MAX_BODY_BYTES + 1),
    });
    expect(over.status).toBe(413);
    expect(over.body.error.code).toBe("payload_too_large");
  });
});
