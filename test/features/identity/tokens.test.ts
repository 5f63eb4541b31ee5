import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createInvite, readInvite } from "../../../src/features/poker/invites";
import { resolveCredential } from "../../../src/platform/auth/caller";
import { mintClientToken, verifyClientToken } from "../../../src/platform/auth/tokens";
import { newDb, openSse, SseReader } from "../../helpers/bus";
import { ADMIN, BASE, call, tokenFor } from "../../helpers/http";
import { tryConnect } from "../../helpers/ws";

const OLD_SECRET = env.TOKEN_SECRET;
const NEW_SECRET = "rotated-token-secret-fedcba9876543210";
/** Mid-rotation: signing with the new secret, still verifying the old one. */
const rotating = { ...env, TOKEN_SECRET: NEW_SECRET, TOKEN_SECRET_PREVIOUS: OLD_SECRET };
/** After the rotation: the old secret removed. */
const rotated = { ...env, TOKEN_SECRET: NEW_SECRET };

const user = { id: "u1", name: "Ada" };

describe("user ids in tokens", () => {
  it("refuses ids outside the charset and bad names, naming the field", async () => {
    const cases: [unknown, string][] = [
      [{ id: "x,user:victim", name: "X" }, "user.id"],
      [{ id: "has space", name: "X" }, "user.id"],
      [{ id: "a".repeat(129), name: "X" }, "user.id"],
      [{ id: "x", name: "" }, "user.name"],
      [{ id: "x", name: "n".repeat(201) }, "user.name"],
    ];
    for (const [body, field] of cases) {
      const res = await call("POST", "/api/tokens", { token: ADMIN, body: { user: body } });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(Object.keys(res.body.error.details)).toEqual([field]);
    }
    const edge = { id: `A-z0.9_@+-${"a".repeat(118)}`, name: "Edge" };
    expect((await call("POST", "/api/tokens", { token: ADMIN, body: { user: edge } })).status).toBe(
      201,
    );
  });

  it("needs a user with the admin token", async () => {
    const res = await call("POST", "/api/tokens", { token: ADMIN, body: {} });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual({ user: ["Required"] });
  });

  it("rejects a validly signed token whose user id breaks the charset (minted before the rule)", async () => {
    const { token } = await mintClientToken(env.TOKEN_SECRET, {
      user: { id: "x,user:victim", name: "X" },
      permissions: [],
      ttlSeconds: 600,
    });
    expect(await verifyClientToken(env, token)).toBeNull();
    expect((await call("GET", "/api/webhooks", { token })).status).toBe(401);
  });
});

describe("TOKEN_SECRET rotation", () => {
  it("accepts tokens of the previous secret during a rotation, and no longer after it", async () => {
    const { token } = await mintClientToken(OLD_SECRET, { user, permissions: [], ttlSeconds: 600 });
    expect(await resolveCredential(rotating, token)).toMatchObject({ kind: "user", user });
    await expect(resolveCredential(rotated, token)).rejects.toMatchObject({
      code: "unauthorized",
    });
  });

  it("signs new tokens with the current secret only", async () => {
    const { token } = await mintClientToken(rotating.TOKEN_SECRET, {
      user,
      permissions: [],
      ttlSeconds: 600,
    });
    expect(await verifyClientToken({ TOKEN_SECRET: NEW_SECRET }, token)).not.toBeNull();
    expect(await verifyClientToken({ TOKEN_SECRET: OLD_SECRET }, token)).toBeNull();
  });

  it("accepts poker invites of the previous secret during a rotation", async () => {
    const { invite } = await createInvite(OLD_SECRET, "s1", "voter", 600);
    expect(await readInvite(rotating, "s1", invite)).toBe("voter");
    expect(await readInvite(rotated, "s1", invite)).toBeNull();
  });

  it("still refuses a token of an unrelated secret while rotating", async () => {
    const { token } = await mintClientToken("neither-secret-0123456789", {
      user,
      permissions: [],
      ttlSeconds: 600,
    });
    expect(await verifyClientToken(rotating, token)).toBeNull();
  });
});

describe("?token= in the URL", () => {
  it("is ignored on an ordinary route, even asking for an event stream", async () => {
    const asSse = await SELF.fetch(`${BASE}/api/keys?token=${ADMIN}`, {
      headers: { Accept: "text/event-stream" },
    });
    expect(asSse.status).toBe(401);
    const asUpgrade = await SELF.fetch(`${BASE}/api/keys?token=${ADMIN}`, {
      headers: { Upgrade: "websocket" },
    });
    expect(asUpgrade.status).toBe(401);
    expect((await call("GET", `/api/keys?token=${ADMIN}`)).status).toBe(401);
  });

  it("is read on the SSE stream and on WebSocket upgrades", async () => {
    const token = await tokenFor("u-sse");
    const stream = await openSse(newDb(), token, ["client:c1"]);
    expect(stream).toBeInstanceOf(SseReader);
    await (stream as SseReader).close();
    const refused = await tryConnect("/ws/poker/no-such-session", token);
    expect((refused as Response).status).toBe(404);
  });
});
