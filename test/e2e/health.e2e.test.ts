import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { DEV_ADMIN_TOKEN, type DevServer, startDevServer } from "./support/dev-server";

let server: DevServer;

beforeAll(async () => {
  server = await startDevServer();
});

afterAll(async () => {
  await server?.stop();
});

describe("wrangler dev, as npm start runs it", () => {
  it("serves /health, /docs with its assets, and /openapi.json", async () => {
    const health = await fetch(`${server.url}/health`);
    expect(await health.json()).toEqual({ ok: true });
    const docs = await fetch(`${server.url}/docs`);
    expect(await docs.text()).toContain("/vendor/swagger-ui/swagger-ui-bundle.js");
    const bundle = await fetch(`${server.url}/vendor/swagger-ui/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    const spec = await fetch(`${server.url}/openapi.json`);
    expect((await spec.json()).paths["/api/tokens"]).toBeDefined();
  });

  it("sends the security headers on every HTML page, static or rendered, with one policy", async () => {
    const pages = ["/poker/", "/docs"];
    const policies: string[] = [];
    for (const path of pages) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("Content-Type"), path).toContain("text/html");
      const csp = res.headers.get("Content-Security-Policy") ?? "";
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).not.toContain("unsafe-inline");
      expect(res.headers.get("X-Content-Type-Options"), path).toBe("nosniff");
      expect(res.headers.get("Referrer-Policy"), path).toBe("no-referrer");
      policies.push(csp);
    }
    expect(new Set(policies).size).toBe(1);
    const root = await fetch(`${server.url}/`, { redirect: "manual" });
    expect(root.status).toBe(302);
    expect(root.headers.get("Location")).toBe("/poker/");
    const icon = await fetch(`${server.url}/favicon.ico`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get("Content-Type")).toContain("image/");
    expect((await icon.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });

  it("refuses request bodies over 1 MiB with 413, by Content-Length and while a chunked body streams", async () => {
    const url = `${server.url}/api/bus/e2e-limit/publish`;
    const headers = {
      Authorization: `Bearer ${DEV_ADMIN_TOKEN}`,
      "Content-Type": "application/json",
    };
    const sized = await fetch(url, { method: "POST", headers, body: "{".repeat(2 * 1024 * 1024) });
    expect(sized.status).toBe(413);
    expect(await sized.json()).toMatchObject({ error: { code: "payload_too_large" } });
    const chunk = new TextEncoder().encode("{".repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 1.5 * 1024 * 1024) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const chunked = await fetch(url, {
      method: "POST",
      headers,
      body,
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await chunked.json()).toMatchObject({ error: { code: "payload_too_large" } });
    // A chunked body given up half read once left workerd answering everyone 20–50 s late.
    const started = Date.now();
    expect((await fetch(`${server.url}/health`, { headers: { Connection: "close" } })).status).toBe(
      200,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("refuses a WebSocket without a token with 401", async () => {
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${server.url.replace("http", "ws")}/ws/poker/x`);
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => resolve(101));
      ws.on("error", () => undefined);
    });
    expect(status).toBe(401);
  });

  it("mints tokens with the admin token from .dev.vars", async () => {
    const res = await fetch(`${server.url}/api/tokens`, {
      method: "POST",
      headers: { Authorization: `Bearer ${DEV_ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ user: { id: "u1", name: "Ada" } }),
    });
    expect(res.status).toBe(201);
  });

  it("runs the cron's periodic jobs the way npm start fires them", async () => {
    expect(await server.fireCron()).toBe(200);
  });

  // Last: it spends this server's anonymous budget of the loopback address.
  it("limits anonymous calls by the client's address, which wrangler dev passes on", async () => {
    const answers: Response[] = [];
    for (let i = 0; i < 110; i++) answers.push(await fetch(`${server.url}/health`));
    const limited = answers.filter((res) => res.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    const [first] = limited;
    expect(first?.headers.get("Retry-After")).toBe("10");
    expect(await first?.json()).toMatchObject({ error: { code: "rate_limited" } });
  });
});
