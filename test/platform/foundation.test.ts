import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { DOCS_PATHS } from "../../src/features/system/routes";
import { ROOM_KINDS } from "../../src/rooms";
import { ADMIN, call, expectErrorShape, tokenFor } from "../helpers/http";

const UNDOCUMENTED = new Set<string>(DOCS_PATHS);

describe("system routes", () => {
  it("GET /health answers ok with a request id", async () => {
    const res = await call("GET", "/health");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
    expect(res.headers.get("X-Request-Id")).toBeTruthy();
  });

  it("GET /docs serves the interactive reference", async () => {
    const res = await call("GET", "/docs");
    expect(res.status).toBe(200);
    expect(res.body).toContain("swagger-ui");
  });

  it("GET /openapi.json lists every route of the app", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\./);
    const documented = new Set(
      Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(
        ([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
    expect(documented).toContain("POST /api/tokens");
    // Every route the app serves (but the document and its viewer) is in the document.
    const served = createApp(ROOM_KINDS)
      .routes.filter((r) => r.method !== "ALL" && !UNDOCUMENTED.has(r.path))
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    expect(served.length).toBeGreaterThan(3);
    expect(served.filter((r) => !documented.has(r))).toEqual([]);
  });
});

describe("tokens", () => {
  it("mints a token that works, with its expiry", async () => {
    const res = await call("POST", "/api/tokens", {
      token: ADMIN,
      body: {
        user: { id: "u1", name: "Ada" },
        permissions: ["planning_poker.vote"],
        ttl_seconds: 60,
      },
    });
    expect(res.status).toBe(201);
    expect(typeof res.body.token).toBe("string");
    const expires = Date.parse(res.body.expires_at);
    expect(expires - Date.now()).toBeGreaterThan(50_000);
    expect(expires - Date.now()).toBeLessThanOrEqual(61_000);
  });

  it("defaults permissions to [] and ttl to an hour", async () => {
    const res = await call("POST", "/api/tokens", {
      token: ADMIN,
      body: { user: { id: "u1", name: "Ada" } },
    });
    expect(res.status).toBe(201);
    const ttl = Date.parse(res.body.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(3590_000);
    expect(ttl).toBeLessThanOrEqual(3600_000);
  });

  it("refuses a ttl over a day and names the field", async () => {
    const res = await call("POST", "/api/tokens", {
      token: ADMIN,
      body: { user: { id: "u1", name: "Ada" }, ttl_seconds: 86401 },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("bad_request");
    expect(Object.keys(res.body.error.details)).toContain("ttl_seconds");
  });

  it("admin-only routes refuse client tokens with 403 and no token with 401", async () => {
    const client = await tokenFor("u1", ["planning_poker.moderate"]);
    const body = { user: { id: "x", name: "X" } };
    const forbidden = await call("POST", "/api/tokens", { token: client, body });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe("forbidden");
    const anonymous = await call("POST", "/api/tokens", { body });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe("unauthorized");
  });

  it("accepts the Token scheme as well as Bearer", async () => {
    const res = await call("POST", "/api/tokens", {
      headers: { Authorization: `Token ${ADMIN}` },
      body: { user: { id: "u1", name: "Ada" } },
    });
    expect(res.status).toBe(201);
  });

  it("answers 401 to expired, tampered, wrong-secret and malformed tokens on HTTP", async () => {
    const body = { user: { id: "x", name: "X" } };
    const good = await tokenFor("u1");
    const [h, p, s] = good.split(".");
    const payload = JSON.parse(atob(p!.replace(/-/g, "+").replace(/_/g, "/")));
    const forged = btoa(JSON.stringify({ ...payload, perms: ["bus.publish"] }))
      .replace(/=+$/, "")
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
    const tampered = `${h}.${forged}.${s}`;
    const { sign } = await import("hono/jwt");
    const wrongSecret = await sign({ ...payload }, "another-secret", "HS256");
    const expired = await tokenFor("u1", [], { ttl_seconds: 1 });
    await new Promise((r) => setTimeout(r, 2100));
    for (const token of [tampered, wrongSecret, expired, "garbage"]) {
      const res = await call("POST", "/api/tokens", { token, body });
      expect(res.status, token).toBe(401);
      expectErrorShape(res.body);
    }
    const badScheme = await call("POST", "/api/tokens", {
      headers: { Authorization: "Basic abc" },
      body,
    });
    expect(badScheme.status).toBe(401);
  });
});

describe("CORS", () => {
  it("answers a preflight for the API and the bus from any origin", async () => {
    for (const path of ["/api/tokens", "/main/bus"]) {
      const res = await call("OPTIONS", path, {
        headers: {
          Origin: "https://app.example",
          "Access-Control-Request-Method": "POST",
          "Access-Control-Request-Headers": "authorization,content-type",
        },
      });
      expect(res.status, path).toBe(204);
      expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
      expect(res.headers.get("Access-Control-Allow-Headers")).toContain("Authorization");
    }
  });
});

describe("error shape", () => {
  it("404 for an unknown route", async () => {
    const res = await call("GET", "/api/nope");
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
  });

  it("405 for a known path with another method, with Allow", async () => {
    const res = await call("DELETE", "/health");
    expect(res.status).toBe(405);
    expectErrorShape(res.body);
    expect(res.headers.get("Allow")).toContain("GET");
  });

  it("400 for an invalid JSON body, never a stack trace", async () => {
    const res = await call("POST", "/api/tokens", { token: ADMIN, rawBody: '{"user": ' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("bad_request");
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/);
  });

  it("400 naming every offending field for a validation failure", async () => {
    const res = await call("POST", "/api/tokens", {
      token: ADMIN,
      body: { user: { id: "", name: 3 }, permissions: "all" },
    });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.error.details).sort()).toEqual([
      "permissions",
      "user.id",
      "user.name",
    ]);
  });
});
