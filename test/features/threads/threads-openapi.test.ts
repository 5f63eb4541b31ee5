import { expect, it } from "vitest";
import { call } from "../../helpers/http";

it("documents every threads route in the OpenAPI document", async () => {
  const res = await call("GET", "/openapi.json");
  expect(res.status).toBe(200);
  const paths = Object.keys(res.body.paths).filter((p) => p.startsWith("/api/threads"));
  expect(paths.sort()).toEqual([
    "/api/threads",
    "/api/threads/{id}",
    "/api/threads/{id}/messages",
    "/api/threads/{id}/messages/{mid}",
    "/api/threads/{id}/users",
    "/api/threads/{id}/users/{user_id}",
    "/api/threads/{id}/ws-subscribe",
  ]);
  const post = res.body.paths["/api/threads/{id}/messages"].post;
  expect(post.tags).toEqual(["threads"]);
  expect(post.security).toEqual([{ bearer: [] }]);
  expect(post.parameters).toContainEqual(
    expect.objectContaining({ name: "idempotency-key", in: "header", required: false }),
  );
  expect(Object.keys(post.responses)).toContain("422");
});
