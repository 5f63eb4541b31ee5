import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { swapFlowState } from "../../../src/features/state/queries";
import { outboxStatements, prepareEvent } from "../../../src/features/webhooks/outbox";
import { getDb } from "../../../src/platform/db";
import { ADMIN, call, expectErrorShape, tokenFor } from "../../helpers/http";

/** The last webhook event recorded before the test: `emitted` lists those after it. */
let mark = 0;

beforeEach(async () => {
  const row = await env.DB.prepare(
    "SELECT COALESCE(MAX(rowid), 0) AS n FROM webhook_events",
  ).first<{
    n: number;
  }>();
  mark = row?.n ?? 0;
});

/** The `state.changed` events recorded (the outbox) since the test began, in order. */
async function emitted(): Promise<{ type: string; data: any }[]> {
  const rows = await env.DB.prepare(
    "SELECT event_type AS type, data FROM webhook_events WHERE rowid > ? AND event_type = 'state.changed' ORDER BY rowid",
  )
    .bind(mark)
    .all<{ type: string; data: string }>();
  return rows.results.map((r) => ({ type: r.type, data: JSON.parse(r.data) }));
}

async function createPerson() {
  const key = `p-${crypto.randomUUID()}`;
  const res = await call("POST", "/api/persons", { token: ADMIN, body: { key, name: "Ada" } });
  expect(res.status).toBe(201);
  return key;
}

async function createFlow(key: string, state = "inactive") {
  const res = await call("POST", `/api/persons/${key}/flows`, {
    token: ADMIN,
    body: { identifier: "onboarding", state },
  });
  expect(res.status).toBe(201);
  return res.body;
}

async function createStep(flowId: string, state = "inactive") {
  const res = await call("POST", `/api/flows/${flowId}/steps`, {
    token: ADMIN,
    body: { identifier: "welcome", state },
  });
  expect(res.status).toBe(201);
  return res.body;
}

describe("state REST: persons", () => {
  it("creates a person (201) and refuses the same key again with 409", async () => {
    const key = `p-${crypto.randomUUID()}`;
    const res = await call("POST", "/api/persons", { token: ADMIN, body: { key, name: "Ada" } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ key, name: "Ada" });
    const again = await call("POST", "/api/persons", { token: ADMIN, body: { key, name: "Bob" } });
    expect(again.status).toBe(409);
    expect(again.body.error.details).toEqual({ key: ["already exists"] });
    expect((await call("GET", `/api/persons/${key}`, { token: ADMIN })).body.name).toBe("Ada");
  });

  it("is admin only", async () => {
    const body = { key: `p-${crypto.randomUUID()}`, name: "Ada" };
    expect((await call("POST", "/api/persons", { body })).status).toBe(401);
    const user = await call("POST", "/api/persons", {
      token: await tokenFor(body.key, ["state.observe"]),
      body,
    });
    expect(user.status).toBe(403);
    expectErrorShape(user.body);
    expect((await call("GET", `/api/persons/${body.key}`, { token: ADMIN })).status).toBe(404);
  });

  it("refuses invalid bodies with 400 naming the fields", async () => {
    const res = await call("POST", "/api/persons", { token: ADMIN, body: { name: "" } });
    expect(res.status).toBe(400);
    expectErrorShape(res.body);
    expect(Object.keys(res.body.error.details).sort()).toEqual(["key", "name"]);
  });

  it("refuses keys that cannot be a path segment", async () => {
    for (const key of ["a/b", "has space", "q?x"]) {
      const res = await call("POST", "/api/persons", { token: ADMIN, body: { key, name: "X" } });
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.error.details)).toEqual(["key"]);
    }
  });

  it("lists a person's flows oldest first", async () => {
    const key = await createPerson();
    const a = await createFlow(key);
    const b = await createFlow(key, "active");
    const res = await call("GET", `/api/persons/${key}`, { token: ADMIN });
    expect(res.body.flows.map((f: any) => [f.id, f.state])).toEqual([
      [a.id, "inactive"],
      [b.id, "active"],
    ]);
  });
});

describe("state REST: flows", () => {
  it("creates a flow: 201 with id, identifier and state", async () => {
    const key = await createPerson();
    const flow = await createFlow(key);
    expect(flow).toMatchObject({ identifier: "onboarding", state: "inactive", person_key: key });
    expect(typeof flow.id).toBe("string");
    expect(await emitted()).toEqual([]);
  });

  it("refuses a flow state outside active/inactive/completed/exited with 400 naming `state`", async () => {
    const key = await createPerson();
    for (const state of ["paused", "ACTIVE", "", 3]) {
      const res = await call("POST", `/api/persons/${key}/flows`, {
        token: ADMIN,
        body: { identifier: "x", state },
      });
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.error.details)).toEqual(["state"]);
    }
    expect((await call("GET", `/api/persons/${key}`, { token: ADMIN })).body.flows).toEqual([]);
  });

  it("answers 404 for a flow of an unknown person", async () => {
    const res = await call("POST", "/api/persons/nobody-here/flows", {
      token: ADMIN,
      body: { identifier: "x", state: "active" },
    });
    expect(res.status).toBe(404);
    expectErrorShape(res.body);
  });

  it("changes a flow's state and emits state.changed with the previous state", async () => {
    const key = await createPerson();
    const flow = await createFlow(key);
    const res = await call("PATCH", `/api/flows/${flow.id}`, {
      token: ADMIN,
      body: { state: "active" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: flow.id, state: "active" });
    expect(await emitted()).toEqual([
      {
        type: "state.changed",
        data: {
          person_key: key,
          entity: "flow",
          id: flow.id,
          identifier: "onboarding",
          state: "active",
          previous_state: "inactive",
        },
      },
    ]);
    for (const state of ["completed", "exited"]) {
      const next = await call("PATCH", `/api/flows/${flow.id}`, { token: ADMIN, body: { state } });
      expect(next.body.state).toBe(state);
    }
    expect((await emitted()).map((e: any) => [e.data.previous_state, e.data.state])).toEqual([
      ["inactive", "active"],
      ["active", "completed"],
      ["completed", "exited"],
    ]);
  });

  it("emits nothing when the state does not change", async () => {
    const key = await createPerson();
    const flow = await createFlow(key, "active");
    const res = await call("PATCH", `/api/flows/${flow.id}`, {
      token: ADMIN,
      body: { state: "active" },
    });
    expect(res.status).toBe(200);
    expect(res.body.updated_at).toBe(flow.updated_at);
    expect(await emitted()).toEqual([]);
  });

  it("refuses an invalid state with 400 naming `state` and leaves the row unchanged", async () => {
    const key = await createPerson();
    const flow = await createFlow(key);
    const res = await call("PATCH", `/api/flows/${flow.id}`, {
      token: ADMIN,
      body: { state: "done" },
    });
    expect(res.status).toBe(400);
    expectErrorShape(res.body);
    expect(Object.keys(res.body.error.details)).toEqual(["state"]);
    const after = await call("GET", `/api/flows/${flow.id}`, { token: ADMIN });
    expect(after.body).toMatchObject({ state: "inactive", updated_at: flow.updated_at });
    expect(await emitted()).toEqual([]);
  });

  it("answers 404 for an unknown flow", async () => {
    const id = crypto.randomUUID();
    const patch = await call("PATCH", `/api/flows/${id}`, {
      token: ADMIN,
      body: { state: "active" },
    });
    expect(patch.status).toBe(404);
    expect(patch.body.error.code).toBe("not_found");
    expect((await call("GET", `/api/flows/${id}`, { token: ADMIN })).status).toBe(404);
    const step = await call("POST", `/api/flows/${id}/steps`, {
      token: ADMIN,
      body: { identifier: "x", state: "active" },
    });
    expect(step.status).toBe(404);
  });

  it("is admin only", async () => {
    const key = await createPerson();
    const flow = await createFlow(key);
    const res = await call("PATCH", `/api/flows/${flow.id}`, {
      token: await tokenFor(key, ["state.observe"]),
      body: { state: "active" },
    });
    expect(res.status).toBe(403);
    expect(await emitted()).toEqual([]);
  });
});

describe("state: the change and its event are one transaction", () => {
  it("records state.changed only with the stored change: a lost compare-and-set stores neither", async () => {
    const key = await createPerson();
    const flow = await createFlow(key);
    const db = getDb(env.DB);
    const event = await prepareEvent(env, "state.changed", {
      person_key: key,
      entity: "flow",
      id: flow.id,
      identifier: "onboarding",
      state: "active",
      previous_state: "completed",
    });
    const withEvent = (ifStored: (value: string) => any) =>
      outboxStatements(db, [{ ...event, uuid: ifStored(event.uuid) }]);
    // Expects 'completed' but the flow is 'inactive': the batch fails as a whole.
    await expect(swapFlowState(db, flow.id, "completed", "active", withEvent)).rejects.toThrow();
    expect((await call("GET", `/api/flows/${flow.id}`, { token: ADMIN })).body.state).toBe(
      "inactive",
    );
    expect(await emitted()).toEqual([]);

    const stored = await swapFlowState(db, flow.id, "inactive", "active", withEvent);
    expect(stored?.state).toBe("active");
    expect(await emitted()).toHaveLength(1);
  });
});

describe("state REST: steps", () => {
  it("creates steps of a flow and lists them with the flow", async () => {
    const flow = await createFlow(await createPerson());
    const step = await createStep(flow.id);
    expect(step).toMatchObject({ flow_id: flow.id, identifier: "welcome", state: "inactive" });
    const res = await call("GET", `/api/flows/${flow.id}`, { token: ADMIN });
    expect(res.body.steps.map((s: any) => s.id)).toEqual([step.id]);
  });

  it("allows only active/inactive/completed for steps", async () => {
    const flow = await createFlow(await createPerson());
    const bad = await call("POST", `/api/flows/${flow.id}/steps`, {
      token: ADMIN,
      body: { identifier: "x", state: "exited" },
    });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.error.details)).toEqual(["state"]);
    const step = await createStep(flow.id);
    const patch = await call("PATCH", `/api/steps/${step.id}`, {
      token: ADMIN,
      body: { state: "exited" },
    });
    expect(patch.status).toBe(400);
    expect(Object.keys(patch.body.error.details)).toEqual(["state"]);
    expect((await call("GET", `/api/steps/${step.id}`, { token: ADMIN })).body.state).toBe(
      "inactive",
    );
    expect(await emitted()).toEqual([]);
  });

  it("changes a step's state and emits state.changed for the step's person", async () => {
    const key = await createPerson();
    const flow = await createFlow(key);
    const step = await createStep(flow.id);
    const res = await call("PATCH", `/api/steps/${step.id}`, {
      token: ADMIN,
      body: { state: "completed" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: step.id, flow_id: flow.id, state: "completed" });
    expect(await emitted()).toEqual([
      {
        type: "state.changed",
        data: {
          person_key: key,
          entity: "step",
          id: step.id,
          identifier: "welcome",
          state: "completed",
          previous_state: "inactive",
        },
      },
    ]);
    await call("PATCH", `/api/steps/${step.id}`, { token: ADMIN, body: { state: "completed" } });
    expect(await emitted()).toHaveLength(1);
  });

  it("answers 404 for an unknown step", async () => {
    const res = await call("PATCH", `/api/steps/${crypto.randomUUID()}`, {
      token: ADMIN,
      body: { state: "active" },
    });
    expect(res.status).toBe(404);
    expectErrorShape(res.body);
  });
});

describe("state REST: OpenAPI", () => {
  it("documents every route of the area", async () => {
    // This area's routes alone, so that another area's schema cannot break this test.
    const { personRoutes } = await import("../../../src/features/state/routes");
    const doc: any = personRoutes.getOpenAPI31Document({
      openapi: "3.1.0",
      info: { title: "state", version: "1" },
    });
    expect(Object.keys(doc.paths["/api/persons"])).toEqual(["post"]);
    expect(Object.keys(doc.paths["/api/persons/{key}/flows"])).toEqual(["post"]);
    expect(Object.keys(doc.paths["/api/flows/{id}/steps"])).toEqual(["post"]);
    expect(Object.keys(doc.paths["/api/flows/{id}"]).sort()).toEqual(["get", "patch"]);
    expect(Object.keys(doc.paths["/api/steps/{id}"]).sort()).toEqual(["get", "patch"]);
    expect(doc.paths["/api/flows/{id}"].patch.security).toEqual([{ bearer: [] }]);
  });
});
