import { decodeBase64, encodeBase64 } from "hono/utils/encode";

const encoder = new TextEncoder();
const SALT = encoder.encode("switchboard idempotency-key v1");

/** Everything derived from one (caller, key): the row's id and the keys that guard its row. */
export interface KeyMaterial {
  /** The row's id: the client's key is never stored. */
  id: string;
  /** Encrypts the stored answer (AES-256-GCM). */
  seal: CryptoKey;
  /** Fingerprints the body (HMAC-SHA-256), so a guessed body cannot be checked offline. */
  mac: CryptoKey;
}

const hex = (bytes: ArrayBuffer | Uint8Array) =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

/**
 * HKDF over TOKEN_SECRET with the caller and the key as info: without both the client's key
 * and the server's secret, a row can be neither found nor read. A new TOKEN_SECRET makes every
 * earlier key unknown, as if pruned.
 */
export async function keyMaterial(
  secret: string,
  caller: string,
  key: string,
): Promise<KeyMaterial> {
  const ikm = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, [
    "deriveBits",
  ]);
  const info = encoder.encode(JSON.stringify([caller, key]));
  const bits = new Uint8Array(
    await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: SALT, info }, ikm, 768),
  );
  const [seal, mac] = await Promise.all([
    crypto.subtle.importKey("raw", bits.slice(32, 64), "AES-GCM", false, ["encrypt", "decrypt"]),
    crypto.subtle.importKey("raw", bits.slice(64), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]),
  ]);
  return { id: hex(bits.slice(0, 32)), seal, mac };
}

export async function fingerprintOf(material: KeyMaterial, canonicalBody: string): Promise<string> {
  return hex(await crypto.subtle.sign("HMAC", material.mac, encoder.encode(canonicalBody)));
}

/** Base64 of a fresh 12-byte IV and the AES-GCM ciphertext; the row id is authenticated too. */
export async function sealBody(material: KeyMaterial, body: Uint8Array): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(material.id) },
    material.seal,
    body,
  );
  const out = new Uint8Array(iv.byteLength + sealed.byteLength);
  out.set(iv);
  out.set(new Uint8Array(sealed), iv.byteLength);
  return encodeBase64(out.buffer);
}

export async function openBody(material: KeyMaterial, stored: string): Promise<ArrayBuffer> {
  const bytes = decodeBase64(stored);
  return crypto.subtle.decrypt(
    { name: "AES-GCM", iv: bytes.slice(0, 12), additionalData: encoder.encode(material.id) },
    material.seal,
    bytes.slice(12),
  );
}
