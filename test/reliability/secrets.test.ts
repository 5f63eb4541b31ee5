import { createExecutionContext, env } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { ROOM_KINDS } from "../../src/rooms";
import { ADMIN, BASE } from "../helpers/http";
import { api, expiredToken, fetchWorker, tamperedToken } from "../helpers/reliability/support";
import { user } from "../helpers/reliability/world";
import { captureFetch, consume, emit, freshEventType, testEnv } from "../helpers/webhooks";
import { tryConnect } from "../helpers/ws";

/**
 * Secrets (webhook secrets, basic-auth passwords, admin and client tokens) never appear in a log
 * line, an error message or a list answer. Every console call of the file is captured and
 * searched at the end; answers are searched as they come.
 */

const logged: string[] = [];
const secrets = new Set<string>();
const secret = (label: string) => {
  const value = `${label}-${crypto.randomUUID()}`;
  secrets.add(value);
  return value;
};

function text(value: unknown): string {
  if (value instanceof Error) {
    return `${value.name}: ${value.message}\n${value.stack ?? ""}\n${text(value.cause)}`;
  }
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function expectNoSecret(body: unknown, where: string, except: string[] = []): void {
  const seen = text(body);
  for (const s of secrets) {
    if (!except.includes(s))
      expect(seen.includes(s), `${where} shows a secret: ${seen.slice(0, 300)}`).toBe(false);
  }
}

beforeAll(() => {
  secrets.add(ADMIN);
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logged.push(args.map(text).join(" "));
    });
  }
});

afterAll(() => {
  vi.restoreAllMocks();
});

describe("webhook secrets and passwords", () => {
  it("show the secret once at creation, then never: lists, reads, changes, errors, delivery logs", async () => {
    const owner = await user("secret-owner", ["webhooks.subscribe:*"]);
    secrets.add(owner.token);
    const key = secret("whsec");
    const password = secret("pw");
    const type = await freshEventType();
    const created = await api("POST", "/api/webhooks", {
      token: owner.token,
      body: {
        event_type: type,
        target_url: "https://receiver.example/hook",
        secret_key: key,
        config: { auth: { auth_type: "basic", username: "hooks", password } },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.secret_key).toBe(key);
    expectNoSecret(created.body, "the create answer", [key]);
    const id = created.body.id;

    for (const path of [
      "/api/webhooks",
      `/api/webhooks/${id}`,
      "/whisperer/hooks/",
      `/whisperer/hooks/${id}`,
    ]) {
      const res = await api("GET", path, { token: owner.token });
      expect(res.status, path).toBe(200);
      expectNoSecret(res.body, `GET ${path}`);
    }
    const newPassword = secret("pw2");
    const newKey = secret("whsec2");
    const patched = await api("PATCH", `/api/webhooks/${id}`, {
      token: owner.token,
      body: {
        secret_key: newKey,
        config: { auth: { auth_type: "basic", username: "h", password: newPassword } },
      },
    });
    expect(patched.status).toBe(200);
    expectNoSecret(patched.body, "the PATCH answer");

    // Refused input that carries secrets: the errors name fields, never echo values.
    const errors = [
      await api("POST", "/api/webhooks", {
        token: owner.token,
        body: {
          event_type: type,
          target_url: `not a url ${secret("in-url")}`,
          secret_key: secret("bad-key"),
          config: { auth: { auth_type: "basic", username: "u", password: secret("bad-pw") } },
        },
      }),
      await api("POST", "/api/webhooks", {
        token: owner.token,
        body: { event_type: type, target_url: "https://receiver.example/hook", secret_key: key },
      }),
      await api("PATCH", `/api/webhooks/${id}`, {
        token: owner.token,
        body: { config: { auth: { auth_type: "digest", password: secret("digest-pw") } } },
      }),
      await api("POST", "/api/webhooks", {
        token: owner.token,
        body: {
          event_type: type,
          target_url: "https://x.example/",
          secret_key: { nested: secret("obj") },
        },
      }),
    ];
    for (const res of errors) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expectNoSecret(res.body, `error ${res.status}`);
    }

    // A failed delivery is logged without the secret or the Authorization header.
    const { calls } = captureFetch(() => new Response("receiver is down", { status: 500 }));
    const t = testEnv();
    await emit(t.env, type, { hello: "world" });
    await consume(t.env, t.sent[0]?.body.delivery_id as number);
    expect(calls[0]?.headers.authorization).toMatch(/^Basic /);
    secrets.add(calls[0]!.headers.authorization!);
    secrets.add(calls[0]!.headers.authorization!.slice("Basic ".length));
    const log = await api("GET", `/api/webhooks/${id}/deliveries`, { token: owner.token });
    expect(log.body.results.length).toBeGreaterThan(0);
    expectNoSecret(log.body, "the delivery log");
  });

  it("keeps the secret out of the 500 answer and the log when storing a hook fails", async () => {
    const key = secret("whsec-failing");
    const password = secret("pw-failing");
    // D1 refuses the INSERT when it runs: drizzle's error then lists the query's parameters.
    const refuse = () => Promise.reject(new Error("D1_ERROR: disk I/O error"));
    const failingStatement = (stmt: D1PreparedStatement): D1PreparedStatement =>
      new Proxy(stmt, {
        get(target, prop) {
          if (prop === "bind")
            return (...args: unknown[]) => failingStatement(target.bind(...args));
          if (["all", "run", "raw", "first"].includes(String(prop))) return refuse;
          return Reflect.get(target, prop);
        },
      });
    const failing = {
      ...env,
      DB: new Proxy(env.DB, {
        get(target, prop) {
          if (prop !== "prepare") return Reflect.get(target, prop).bind(target);
          return (sql: string) =>
            /insert into "webhooks"/i.test(sql)
              ? failingStatement(target.prepare(sql))
              : target.prepare(sql);
        },
      }),
    } as Env;
    const res = await createApp(ROOM_KINDS).fetch(
      new Request(`${BASE}/api/webhooks`, {
        method: "POST",
        headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
        body: JSON.stringify({
          event_type: "bus.notification",
          target_url: "https://receiver.example/failing",
          secret_key: key,
          config: { auth: { auth_type: "basic", username: "u", password } },
        }),
      }),
      failing,
      createExecutionContext(),
    );
    expect(res.status).toBe(500);
    const body = await res.json<any>();
    expect(body.error.code).toBe("internal");
    expectNoSecret(body, "the 500 answer");
    expect(logged.some((l) => l.includes("Unhandled error in POST /api/webhooks"))).toBe(true);
  });
});

describe("tokens", () => {
  it("are never echoed by a refusal, over HTTP or before a socket upgrade", async () => {
    const owner = await user("token-owner");
    const tokens = [
      await expiredToken("someone", ["state.observe"]),
      tamperedToken(owner.token, ["planning_poker.moderate"]),
      `${ADMIN}x`,
      `${owner.token.slice(0, -3)}abc`,
    ];
    for (const token of tokens) {
      secrets.add(token);
      for (const [method, path] of [
        ["GET", "/api/webhooks"],
        ["POST", "/api/tokens"],
        ["GET", "/health"],
      ] as const) {
        const res = await api(method, path, { token, body: method === "POST" ? {} : undefined });
        expect(res.status, path).toBe(401);
        expectNoSecret(res.body, `${method} ${path}`);
      }
      const refused = await tryConnect(`/ws/poker/${crypto.randomUUID()}`, token);
      expect((refused as Response).status).toBe(401);
      expectNoSecret(await (refused as Response).text(), "the socket refusal");
      const sse = await fetchWorker(`/db1/bus/stream?token=${encodeURIComponent(token)}`, {
        headers: { Accept: "text/event-stream" },
      });
      expect(sse.status).toBe(401);
      expectNoSecret(await sse.text(), "the SSE refusal");
    }
    const malformed = await fetchWorker("/api/webhooks", {
      headers: { Authorization: `Basic ${ADMIN}` },
    });
    expect(malformed.status).toBe(401);
    expectNoSecret(await malformed.text(), "a malformed Authorization header");
  });

  it("lists of tokens do not exist, and minted tokens appear only in their own answer", async () => {
    const minted = await api("POST", "/api/tokens", {
      token: ADMIN,
      body: { user: { id: "lister", name: "L" }, permissions: [] },
    });
    expect(minted.status).toBe(201);
    secrets.add(minted.body.token);
    const list = await api("GET", "/api/tokens", { token: ADMIN });
    expect([404, 405]).toContain(list.status);
    expectNoSecret(list.body, "GET /api/tokens");
  });
});

describe("the logs of the whole file", () => {
  it("contain no secret, password or token", () => {
    expect(logged.length).toBeGreaterThan(0);
    for (const line of logged) expectNoSecret(line, "a log line");
  });
});
