import { sign, verify } from "hono/jwt";
import { z } from "zod";
import * as time from "../time";
import { USER_ID_PATTERN } from "./user-id";

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
  /** The API key that minted this token: the token dies with the key. */
  keyId?: string;
}

/**
 * The HS256 secrets. New tokens and values are always signed with `TOKEN_SECRET`; during a
 * rotation `TOKEN_SECRET_PREVIOUS` (an optional secret) still verifies what the old one signed.
 */
export interface TokenSecrets {
  TOKEN_SECRET: string;
  TOKEN_SECRET_PREVIOUS?: string;
}

const CLIENT_AUDIENCE = "switchboard:client";

const claimsSchema = z.object({
  // Tokens signed before the user id charset was enforced stop working here.
  sub: z.string().regex(USER_ID_PATTERN),
  name: z.string(),
  perms: z.array(z.string()),
  lang: z.string().optional(),
  exp: z.number(),
  kid: z.string().optional(),
});

export async function mintClientToken(
  secret: string,
  input: {
    user: TokenUser;
    permissions: string[];
    ttlSeconds: number;
    lang?: string;
    /** The minting API key: the token carries it, and never outlives `notAfter` (epoch ms). */
    key?: { id: string; notAfter: number | null };
  },
): Promise<{ token: string; expiresAt: Date }> {
  const now = Math.floor(time.now() / 1000);
  let exp = now + input.ttlSeconds;
  if (input.key?.notAfter != null) exp = Math.min(exp, Math.floor(input.key.notAfter / 1000));
  const payload = {
    sub: input.user.id,
    name: input.user.name,
    perms: input.permissions,
    aud: CLIENT_AUDIENCE,
    iat: now,
    exp,
    ...(input.lang ? { lang: input.lang } : {}),
    ...(input.key ? { kid: input.key.id } : {}),
  };
  return { token: await sign(payload, secret, "HS256"), expiresAt: new Date(exp * 1000) };
}

/** The payload of a signed value if the current or the previous secret signed it for `audience`. */
export async function verifyValue(
  secrets: TokenSecrets,
  audience: string,
  token: string,
): Promise<Record<string, unknown> | null> {
  for (const secret of [secrets.TOKEN_SECRET, secrets.TOKEN_SECRET_PREVIOUS]) {
    if (!secret) continue;
    try {
      return await verify(token, secret, { alg: "HS256", aud: audience });
    } catch {
      // expired, tampered, foreign, or signed with the other secret: try the next one
    }
  }
  return null;
}

/** The claims of a valid client token, or null when it is expired, tampered or foreign. */
export async function verifyClientToken(
  secrets: TokenSecrets,
  token: string,
): Promise<ClientClaims | null> {
  const parsed = claimsSchema.safeParse(await verifyValue(secrets, CLIENT_AUDIENCE, token));
  if (!parsed.success) return null;
  const claims = parsed.data;
  return {
    user: { id: claims.sub, name: claims.name },
    permissions: claims.perms,
    lang: claims.lang,
    expiresAt: new Date(claims.exp * 1000),
    keyId: claims.kid,
  };
}

/** Signs a short purpose-bound value (e.g. a poker invite) with the token secret. */
export async function signValue(secret: string, audience: string, value: Record<string, unknown>) {
  return sign({ ...value, aud: audience, iat: Math.floor(time.now() / 1000) }, secret, "HS256");
}
