/**
 * Signatures of a delivery: Standard Webhooks (`webhook-signature: v1,<base64>`) and dj-whisperer's
 * `X-Whisperer-Signature: sha256=<hex>`. The key is the base64-decoded part of a `whsec_` secret,
 * else the UTF-8 bytes of the secret. Ed25519 hooks sign `v1a,` instead (`keys.ts`).
 */
import { base64Decode, base64Encode } from "./base64";
import { asymmetricSignature } from "./keys";

const SECRET_PREFIX = "whsec_";
const encoder = new TextEncoder();

/** A new secret: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + base64Encode(crypto.getRandomValues(new Uint8Array(32)));
}

/** True when a `whsec_` secret's remainder is valid, non-empty base64 (else it cannot be used). */
export function isUsableSecret(secret: string): boolean {
  if (!secret.startsWith(SECRET_PREFIX)) return secret.length > 0;
  return (base64Decode(secret.slice(SECRET_PREFIX.length))?.byteLength ?? 0) > 0;
}

function keyBytes(secret: string): Uint8Array {
  if (secret.startsWith(SECRET_PREFIX)) {
    const decoded = base64Decode(secret.slice(SECRET_PREFIX.length));
    if (decoded) return decoded;
  }
  return encoder.encode(secret);
}

async function hmac(secret: string, message: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    keyBytes(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
}

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. */
export async function standardSignature(
  secret: string,
  id: string,
  timestamp: number,
  body: string,
): Promise<string> {
  return `v1,${base64Encode(await hmac(secret, `${id}.${timestamp}.${body}`))}`;
}

/** `sha256=<hex HMAC-SHA256 of the body>`, for dj-whisperer receivers. */
export async function whispererSignature(secret: string, body: string): Promise<string> {
  const digest = await hmac(secret, body);
  return `sha256=${Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export type SignatureScheme = "hmac" | "ed25519";

/**
 * `webhook-signature`: one signature per secret, the current one first, space-separated as
 * Standard Webhooks lists several (a receiver accepts the delivery when any one verifies).
 */
export async function signatureHeader(
  scheme: SignatureScheme,
  secrets: string[],
  id: string,
  timestamp: number,
  body: string,
): Promise<string> {
  const sign = scheme === "ed25519" ? asymmetricSignature : standardSignature;
  const signatures = await Promise.all(secrets.map((s) => sign(s, id, timestamp, body)));
  return signatures.join(" ");
}
