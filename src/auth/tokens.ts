import { sign, verify } from "hono/jwt";
import { z } from "zod";

/** What a client token carries. `aud` separates client tokens from other signed values (invites). */
export interface TokenUser {
  id: string;
  name: string;
}

export interface ClientClaims {
  user: TokenUser;
  permissions: string[];
  /** Optional preferred language (chat question texts). */
  lang?: string;
  expiresAt: Date;
}

const CLIENT_AUDIENCE = "switchboard:client";

const claimsSchema = z.object({
  sub: z.string().min(1),
  name: z.string(),
  perms: z.array(z.string()),
  lang: z.string().optional(),
  exp: z.number(),
});

export async function mintClientToken(
  secret: string,
  input: { user: TokenUser; permissions: string[]; ttlSeconds: number; lang?: string },
): Promise<{ token: string; expiresAt: Date }> {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + input.ttlSeconds;
  const payload = {
    sub: input.user.id,
    name: input.user.name,
    perms: input.permissions,
    aud: CLIENT_AUDIENCE,
    iat: now,
    exp,
    ...(input.lang ? { lang: input.lang } : {}),
  };
  return { token: await sign(payload, secret, "HS256"), expiresAt: new Date(exp * 1000) };
}

/** The claims of a valid client token, or null when it is expired, tampered or foreign. */
export async function verifyClientToken(
  secret: string,
  token: string,
): Promise<ClientClaims | null> {
  try {
    const payload = await verify(token, secret, { alg: "HS256", aud: CLIENT_AUDIENCE });
    const claims = claimsSchema.parse(payload);
    return {
      user: { id: claims.sub, name: claims.name },
      permissions: claims.perms,
      lang: claims.lang,
      expiresAt: new Date(claims.exp * 1000),
    };
  } catch {
    return null;
  }
}

/** Signs a short purpose-bound value (e.g. a poker invite) with the token secret. */
export async function signValue(secret: string, audience: string, value: Record<string, unknown>) {
  return sign({ ...value, aud: audience, iat: Math.floor(Date.now() / 1000) }, secret, "HS256");
}

export async function verifyValue(
  secret: string,
  audience: string,
  token: string,
): Promise<Record<string, unknown> | null> {
  try {
    return await verify(token, secret, { alg: "HS256", aud: audience });
  } catch {
    return null;
  }
}
