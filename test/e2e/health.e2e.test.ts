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
