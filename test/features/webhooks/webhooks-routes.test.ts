import { describe, expect, it } from "vitest";
import { z } from "zod";
import { registerCountdown } from "../../../src/features/webhooks/countdown";
import { webhookRoutes } from "../../../src/features/webhooks/routes";
import { ADMIN, call, expectErrorShape, tokenFor } from "../../helpers/http";
import { freshEventType, subscribe, subscriberToken, uid } from "../../helpers/webhooks";

const url = () => `https://example.com/${uid()}`;

describe("webhook event types", () => {
  it("lists the built-in types with a JSON Schema of their data", async () => {
    const token = await tokenFor(`u-${uid()}`);
    const res = await call("GET", "/api/webhooks/event-types", { token });
    expect(res.status).toBe(200);
    const names = res.body.results.map((t: any) => t.event_type);
    expect(names).toEqual(
      expect.arrayContaining([
        "poker.session_ended",
        "poker.story_points_submitted",
        "thread.message_created",
        "state.changed",
        "bus.notification",
      ]),
    );
    const ended = res.body.results.find((t: any) => t.event_type === "poker.session_ended");
    expect(ended.description).toBeTruthy();
    expect(ended.schema.type).toBe("object");
    expect(ended.schema.required).toEqual(["session_id", "name", "ended_at"]);
  });

  it("pages the list with ?limit= and ?offset= like every list", async () => {
    const token = await tokenFor(`u-${uid()}`);
    const all = await call("GET", "/api/webhooks/event-types?limit=200", { token });
    const names = all.body.results.map((t: any) => t.event_type);
    expect(all.body.next).toBeNull();
    const second = await call("GET", "/api/webhooks/event-types?limit=2&offset=1", { token });
    expect(second.body.results.map((t: any) => t.event_type)).toEqual(names.slice(1, 3));
    expect(second.body.next).toBe(3);
    const last = await call("GET", `/api/webhooks/event-types?limit=2&offset=${names.length - 1}`, {
      token,
    });
    expect(last.body).toEqual({ results: [all.body.results.at(-1)], next: null });
    const bad = await call("GET", "/api/webhooks/event-types?limit=201", { token });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toHaveProperty("limit");
  });

  it("registers an app type (admin), lists it, and refuses duplicates with 409", async () => {
    const name = `package-created-${uid()}`;
    const created = await call("POST", "/api/webhooks/event-types", {
      token: ADMIN,
      body: { event_type: name, description: "A package was created" },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ event_type: name, description: "A package was created" });
    const list = await call("GET", "/api/webhooks/event-types?limit=200", { token: ADMIN });
    expect(list.body.results.map((t: any) => t.event_type)).toContain(name);
    for (const event_type of [name, "bus.notification"]) {
      const again = await call("POST", "/api/webhooks/event-types", {
        token: ADMIN,
        body: { event_type },
      });
      expect(again.status).toBe(409);
      expectErrorShape(again.body);
    }
  });

  it("lets only admin register types, and checks the name", async () => {
    const token = await tokenFor(`u-${uid()}`);
    const res = await call("POST", "/api/webhooks/event-types", {
      token,
      body: { event_type: "x" },
    });
    expect(res.status).toBe(403);
    const bad = await call("POST", "/api/webhooks/event-types", {
      token: ADMIN,
      body: { event_type: "has spaces" },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toHaveProperty("event_type");
  });
});

describe("webhook subscriptions", () => {
  it("creates a hook with a generated secret shown only in the create answer", async () => {
    const type = await freshEventType();
    const token = await subscriberToken();
    const target = url();
    const res = await call("POST", "/api/webhooks", {
      token,
      body: {
        event_type: type,
        target_url: target,
        retry_countdown_config: { choice: "linear", kwargs: { base: 60, limit: 600 } },
        config: { auth: { auth_type: "basic", username: "ada", password: "hunter2" } },
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      event_type: type,
      target_url: target,
      retry_countdown_config: { choice: "linear", kwargs: { base: 60, limit: 600 } },
      is_active: true,
      max_retries: 10,
      config: { auth: { auth_type: "basic", username: "ada" } },
    });
    expect(res.body.secret_key).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const got = await call("GET", `/api/webhooks/${res.body.id}`, { token });
    const listed = await call("GET", "/api/webhooks", { token });
    for (const text of [JSON.stringify(got.body), JSON.stringify(listed.body)]) {
      expect(text).not.toContain(res.body.secret_key);
      expect(text).not.toContain("hunter2");
      expect(text).not.toContain("secret_key");
    }
    expect(got.body.id).toBe(res.body.id);
    expect(listed.body).toEqual({ results: [got.body], next: null });
  });

  it("defaults to the Standard Webhooks schedule and its length as max_retries", async () => {
    const hook = await subscribe({ event_type: await freshEventType(), target_url: url() });
    expect(hook.retry_countdown_config).toEqual({
      choice: "schedule",
      kwargs: { delays: [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400] },
    });
    expect(hook.max_retries).toBe(9);
  });

  it("keeps a given secret and answers it once", async () => {
    const hook = await subscribe({
      event_type: await freshEventType(),
      target_url: url(),
      secret_key: "my-plain-secret",
    });
    expect(hook.secret_key).toBe("my-plain-secret");
  });

  it("answers 400 naming the field for a bad event type, URL, countdown, secret or callback", async () => {
    const type = await freshEventType();
    const cases: [Record<string, unknown>, string][] = [
      [{ event_type: "no.such.type", target_url: url() }, "event_type"],
      [{ event_type: type, target_url: "not a url" }, "target_url"],
      [{ event_type: type, target_url: "ftp://example.com/" }, "target_url"],
      [{ event_type: type, target_url: "https://u:p@example.com/" }, "target_url"],
      [
        {
          event_type: type,
          target_url: url(),
          retry_countdown_config: { choice: "linear", kwargs: { base: 60 } },
        },
        "retry_countdown_config.kwargs.limit",
      ],
      [
        {
          event_type: type,
          target_url: url(),
          retry_countdown_config: { choice: "fixed", kwargs: { seconds: -1 } },
        },
        "retry_countdown_config.kwargs.seconds",
      ],
      [
        {
          event_type: type,
          target_url: url(),
          retry_countdown_config: { choice: "random", kwargs: { min: 10, max: 5 } },
        },
        "retry_countdown_config.kwargs.min",
      ],
      [
        {
          event_type: type,
          target_url: url(),
          retry_countdown_config: { choice: "fibonacci", kwargs: {} },
        },
        "retry_countdown_config.choice",
      ],
      [{ event_type: type, target_url: url(), max_retries: 26 }, "max_retries"],
      [{ event_type: type, target_url: url(), secret_key: "whsec_%%%" }, "secret_key"],
      [{ event_type: type, target_url: url(), callback: "os.system" }, "callback"],
      [
        { event_type: type, target_url: url(), config: { auth: { auth_type: "digest" } } },
        "config.auth.auth_type",
      ],
    ];
    for (const [body, field] of cases) {
      const res = await call("POST", "/api/webhooks", { token: ADMIN, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expectErrorShape(res.body);
      expect(Object.keys(res.body.error.details), JSON.stringify(body)).toContain(field);
    }
    const list = await call("GET", "/api/webhooks?limit=200", { token: ADMIN });
    expect(list.body.results.filter((h: any) => h.event_type === type)).toEqual([]);
  });

  it("accepts a registered callback name", async () => {
    const hook = await subscribe({
      event_type: await freshEventType(),
      target_url: url(),
      callback: "log_failures",
    });
    expect(hook.callback).toBe("log_failures");
  });

  it("answers 409 for the same user, event type and URL twice; other users may", async () => {
    const type = await freshEventType();
    const target = url();
    const ada = await subscriberToken("ada");
    const bob = await subscriberToken("bob");
    await subscribe({ event_type: type, target_url: target }, ada);
    const again = await call("POST", "/api/webhooks", {
      token: ada,
      body: { event_type: type, target_url: target },
    });
    expect(again.status).toBe(409);
    expectErrorShape(again.body);
    await subscribe({ event_type: type, target_url: target }, bob);
  });

  it("keeps owners apart: others can neither see, change nor delete a hook", async () => {
    const ada = await subscriberToken("ada");
    const bob = await tokenFor(`bob-${uid()}`);
    const hook = await subscribe({ event_type: await freshEventType(), target_url: url() }, ada);
    expect((await call("GET", "/api/webhooks", { token: bob })).body.results).toEqual([]);
    expect((await call("GET", `/api/webhooks/${hook.id}`, { token: bob })).status).toBe(404);
    const patch = await call("PATCH", `/api/webhooks/${hook.id}`, {
      token: bob,
      body: { is_active: false },
    });
    expect(patch.status).toBe(404);
    expect((await call("DELETE", `/api/webhooks/${hook.id}`, { token: bob })).status).toBe(404);
    expect((await call("GET", `/api/webhooks/${hook.id}/deliveries`, { token: bob })).status).toBe(
      404,
    );
    const mine = await call("GET", `/api/webhooks/${hook.id}`, { token: ada });
    expect(mine.body.is_active).toBe(true);
    // Admin may do everything.
    expect((await call("GET", `/api/webhooks/${hook.id}`, { token: ADMIN })).status).toBe(200);
  });

  it("needs a token", async () => {
    const res = await call("GET", "/api/webhooks");
    expect(res.status).toBe(401);
    expectErrorShape(res.body);
  });

  it("patches a hook and deletes it", async () => {
    const token = await subscriberToken();
    const type = await freshEventType();
    const hook = await subscribe({ event_type: type, target_url: url() }, token);
    const target = url();
    const patched = await call("PATCH", `/api/webhooks/${hook.id}`, {
      token,
      body: {
        target_url: target,
        retry_countdown_config: { choice: "exponential", kwargs: { base: 2 } },
        is_active: false,
      },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      target_url: target,
      retry_countdown_config: { choice: "exponential", kwargs: { base: 2, limit: 86400 } },
      max_retries: 10,
      is_active: false,
    });
    const bad = await call("PATCH", `/api/webhooks/${hook.id}`, {
      token,
      body: { retry_countdown_config: { choice: "linear", kwargs: { base: "x", limit: 5 } } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toHaveProperty(["retry_countdown_config.kwargs.base"]);
    const other = await subscribe({ event_type: type, target_url: url() }, token);
    const dup = await call("PATCH", `/api/webhooks/${other.id}`, {
      token,
      body: { target_url: target },
    });
    expect(dup.status).toBe(409);
    expect((await call("DELETE", `/api/webhooks/${hook.id}`, { token })).status).toBe(204);
    expect((await call("GET", `/api/webhooks/${hook.id}`, { token })).status).toBe(404);
  });

  it("answers on the dj-whisperer paths too", async () => {
    const token = await subscriberToken();
    const created = await call("POST", "/whisperer/hooks/", {
      token,
      body: { event_type: await freshEventType(), target_url: url(), secret_key: "k" },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect((await call("GET", "/whisperer/hooks/", { token })).body.results).toHaveLength(1);
    expect((await call("GET", `/whisperer/hooks/${id}`, { token })).status).toBe(200);
    const patched = await call("PATCH", `/whisperer/hooks/${id}/`, {
      token,
      body: { is_active: false },
    });
    expect(patched.body.is_active).toBe(false);
    expect((await call("DELETE", `/whisperer/hooks/${id}/`, { token })).status).toBe(204);
  });

  it("paginates hooks", async () => {
    const token = await subscriberToken();
    const type = await freshEventType();
    for (let i = 0; i < 3; i++) await subscribe({ event_type: type, target_url: url() }, token);
    const first = await call("GET", "/api/webhooks?limit=2", { token });
    expect(first.body.results).toHaveLength(2);
    expect(first.body.next).toBe(2);
    const second = await call("GET", "/api/webhooks?limit=2&offset=2", { token });
    expect(second.body.results).toHaveLength(1);
    expect(second.body.next).toBeNull();
  });
});

describe("emitting through the API", () => {
  it("answers 202 with the event uuid (hex when generated)", async () => {
    const type = await freshEventType();
    const res = await call("POST", "/api/webhook-events", {
      token: ADMIN,
      body: { event_type: type, data: { id: 1 } },
    });
    expect(res.status).toBe(202);
    expect(res.body.event_uuid).toMatch(/^[0-9a-f]{32}$/);
    const given = await call("POST", "/api/webhook-events", {
      token: ADMIN,
      body: { event_type: type, data: {}, event_uuid: "evt-123" },
    });
    expect(given.body).toEqual({ event_uuid: "evt-123" });
  });

  it("checks the type, the data against the type's schema, and needs admin", async () => {
    const unknown = await call("POST", "/api/webhook-events", {
      token: ADMIN,
      body: { event_type: "nope.nope", data: {} },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toHaveProperty("event_type");
    const invalid = await call("POST", "/api/webhook-events", {
      token: ADMIN,
      body: { event_type: "poker.session_ended", data: { session_id: "s" } },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details).toHaveProperty(["data.name"]);
    const token = await tokenFor(`u-${uid()}`);
    const forbidden = await call("POST", "/api/webhook-events", {
      token,
      body: { event_type: "bus.notification", data: {} },
    });
    expect(forbidden.status).toBe(403);
  });
});

describe("the OpenAPI document", () => {
  it("describes every webhook route", async () => {
    // This area's routes on their own, so another area's document problem cannot mask ours.
    const doc = webhookRoutes.getOpenAPI31Document({
      openapi: "3.1.0",
      info: { title: "webhooks", version: "1" },
    }) as any;
    const paths = doc.paths;
    for (const path of [
      "/api/webhooks",
      "/api/webhooks/{id}",
      "/api/webhooks/event-types",
      "/api/webhooks/{id}/deliveries",
      "/api/webhooks/{id}/deliveries/{event_uuid}/redeliver",
      "/api/webhook-events",
      "/whisperer/hooks/",
      "/whisperer/hooks/{id}",
    ]) {
      expect(paths[path], path).toBeDefined();
    }
    expect(Object.keys(paths["/api/webhooks/{id}"])).toEqual(
      expect.arrayContaining(["get", "patch", "delete"]),
    );
    expect(doc.components.schemas.WebhookCreate.properties).toHaveProperty(
      "retry_countdown_config",
    );
  });
});

describe("countdown registry", () => {
  it("accepts a strategy registered in code, with its own kwargs checked", async () => {
    registerCountdown("doubling_test", {
      kwargs: z.strictObject({ start: z.number().int().min(1) }),
      delay: (k, n) => k.start * 2 ** (n - 1),
    });
    const config = { choice: "doubling_test", kwargs: { start: 3 } };
    const hook = await subscribe({
      event_type: await freshEventType(),
      target_url: url(),
      retry_countdown_config: config,
    });
    expect(hook).toMatchObject({ retry_countdown_config: config, max_retries: 10 });
    const bad = await call("POST", "/api/webhooks", {
      token: ADMIN,
      body: {
        event_type: await freshEventType(),
        target_url: url(),
        retry_countdown_config: { choice: "doubling_test", kwargs: { start: 0 } },
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toHaveProperty(["retry_countdown_config.kwargs.start"]);
  });
});
