/**
 * Ed25519 keys of the Standard Webhooks asymmetric scheme (`v1a`): a secret `whsk_` + base64 of
 * the 64-byte key pair (32-byte seed, then the 32-byte public key, as Svix, the spec's authors,
 * serialise it) and a public `whpk_` + base64 of the 32-byte public key. The secret stays in D1;
 * only the public key is ever shown.
 */
import { base64Decode, base64Encode } from "./base64";

const SECRET_PREFIX = "whsk_";
const PUBLIC_PREFIX = "whpk_";
const SEED_BYTES = 32;
const encoder = new TextEncoder();

/** The fixed DER header of a PKCS #8 Ed25519 private key (RFC 8410): the seed follows it. */
const PKCS8_ED25519_HEADER = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

export interface Ed25519Keys {
  secretKey: string;
  publicKey: string;
}

/** A fresh key pair, as `whsk_…` and `whpk_…`. */
export async function generateEd25519Keys(): Promise<Ed25519Keys> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(
    (await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer,
  );
  const publicRaw = new Uint8Array(
    (await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer,
  );
  const secret = new Uint8Array(SEED_BYTES * 2);
  secret.set(pkcs8.subarray(PKCS8_ED25519_HEADER.length), 0);
  secret.set(publicRaw, SEED_BYTES);
  return {
    secretKey: SECRET_PREFIX + base64Encode(secret),
    publicKey: PUBLIC_PREFIX + base64Encode(publicRaw),
  };
}

function isEd25519Secret(secret: string): boolean {
  return secret.startsWith(SECRET_PREFIX);
}

function seedOf(secretKey: string): Uint8Array {
  const bytes = isEd25519Secret(secretKey)
    ? base64Decode(secretKey.slice(SECRET_PREFIX.length))
    : null;
  // A stored key is always ours; a malformed one is a bug, and its text must not reach a log.
  if (!bytes || bytes.byteLength !== SEED_BYTES * 2) throw new Error("Malformed ed25519 key");
  return bytes.subarray(0, SEED_BYTES);
}

/** `v1a,<base64 Ed25519 signature of "<id>.<timestamp>.<body>">`. */
export async function asymmetricSignature(
  secretKey: string,
  id: string,
  timestamp: number,
  body: string,
): Promise<string> {
  const pkcs8 = new Uint8Array(PKCS8_ED25519_HEADER.length + SEED_BYTES);
  pkcs8.set(PKCS8_ED25519_HEADER, 0);
  pkcs8.set(seedOf(secretKey), PKCS8_ED25519_HEADER.length);
  const key = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
  const signature = await crypto.subtle.sign(
    { name: "Ed25519" },
    key,
    encoder.encode(`${id}.${timestamp}.${body}`),
  );
  return `v1a,${base64Encode(new Uint8Array(signature))}`;
}
