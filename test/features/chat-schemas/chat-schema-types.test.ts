import { describe, expect, it } from "vitest";
import { schemaBody } from "../../helpers/chat-fixtures";
import { ADMIN, call, tokenFor } from "../../helpers/http";

async function published(type: string, name = `t-${crypto.randomUUID()}`) {
  const created = await call("POST", "/api/schemas", {
    token: ADMIN,
    body: schemaBody(name, { type }),
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const done = await call("POST", `/api/schemas/${created.body.id}/publish`, { token: ADMIN });
  expect(done.status).toBe(200);
  return done.body;
}

// The original chat API's schema types are `survey` and `automated_flow` (contract §7): its
// clients create both, start surveys on `survey` only, and read both.
describe("schemas: the original's default types", () => {
  it("creates `automated_flow` schemas, which clients list and read once published", async () => {
    const name = `flow-${crypto.randomUUID()}`;
    const flow = await published("automated_flow", name);
    expect(flow.type).toBe("automated_flow");
    const user = await tokenFor("u-flow");
    expect((await call("GET", `/api/schemas/${flow.id}`, { token: user })).status).toBe(200);
    const listed = await call("GET", `/api/schemas?name=${name}`, { token: user });
    expect(listed.body.results.map((s: any) => s.id)).toEqual([flow.id]);
  });

  it("starts surveys on `survey` schemas, refuses them on `automated_flow` with NOT_ALLOWED", async () => {
    const token = await tokenFor("u-survey-types");
    const survey = await published("survey");
    const ok = await call("POST", "/api/surveys", { token, body: { schema_id: survey.id } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);

    const flow = await published("automated_flow");
    const refused = await call("POST", "/api/surveys", { token, body: { schema_id: flow.id } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual({ schema_id: ["NOT_ALLOWED"] });
  });

  it("documents the default types on the create route", async () => {
    const doc = (await call("GET", "/openapi.json")).body;
    const type = doc.components.schemas.SchemaInput.properties.type;
    expect(type.description).toContain("`survey` and `automated_flow`");
  });
});
