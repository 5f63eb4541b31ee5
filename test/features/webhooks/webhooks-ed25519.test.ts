import { createPublicKey, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { asymmetricSignature, generateEd25519Keys } from "../../../src/features/webhooks/keys";

/** The public key a receiver builds from `whpk_…` with node:crypto (SPKI = fixed header + key). */
function receiverKey(publicKey: string) {
  const raw = Buffer.from(publicKey.slice("whpk_".length), "base64");
  const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), raw]);
  return createPublicKey({ key: spki, format: "der", type: "spki" });
}

function verifies(publicKey: string, signed: string, signature: string): boolean {
  const sig = Buffer.from(signature.slice("v1a,".length), "base64");
  return verify(null, Buffer.from(signed), receiverKey(publicKey), sig);
}

describe("ed25519 keys and v1a signatures", () => {
  it("formats keys as whsk_ (seed and public key) and whpk_", async () => {
    const keys = await generateEd25519Keys();
    expect(keys.secretKey).toMatch(/^whsk_[A-Za-z0-9+/]{86}==$/);
    expect(keys.publicKey).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    const secret = Buffer.from(keys.secretKey.slice(5), "base64");
    expect(secret.subarray(32).toString("base64")).toBe(keys.publicKey.slice(5));
    expect((await generateEd25519Keys()).secretKey).not.toBe(keys.secretKey);
  });

  it("signs <id>.<timestamp>.<body>, verified by node:crypto with the public key", async () => {
    const keys = await generateEd25519Keys();
    const body = '{"event":{"type":"x","uuid":"u"},"data":{}}';
    const signature = await asymmetricSignature(keys.secretKey, "msg_1", 1700000000, body);
    expect(signature).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    expect(verifies(keys.publicKey, `msg_1.1700000000.${body}`, signature)).toBe(true);
    expect(verifies(keys.publicKey, `msg_1.1700000001.${body}`, signature)).toBe(false);
    const other = await generateEd25519Keys();
    expect(verifies(other.publicKey, `msg_1.1700000000.${body}`, signature)).toBe(false);
  });
});
