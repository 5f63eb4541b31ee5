import { badRequest } from "../../platform/errors";
import { generateEd25519Keys } from "./keys";
import type { WebhookRow } from "./queries";
import { generateSecret, isUsableSecret, type SignatureScheme } from "./sign";

/**
 * A hook's signing keys: the ones a new (or rotated) hook gets, and the ones a delivery signs
 * with, the previous secret too while a rotation's overlap lasts (contract §6).
 */

export const DEFAULT_ROTATION_OVERLAP_HOURS = 24;

/** `ROTATION_OVERLAP_HOURS` in ms; 0 is allowed (the old secret stops at once). */
export function rotationOverlapMs(env: Pick<Env, "ROTATION_OVERLAP_HOURS">): number {
  const hours = Number.parseFloat(env.ROTATION_OVERLAP_HOURS ?? "");
  return (
    (Number.isFinite(hours) && hours >= 0 ? hours : DEFAULT_ROTATION_OVERLAP_HOURS) * 3_600_000
  );
}

export interface HookKeys {
  secretKey: string;
  /** `whpk_…` for ed25519, else null. */
  publicKey: string | null;
}

export const ED25519_OWN_SECRET =
  "An ed25519 hook's secret is generated and never leaves the server";

/** New keys for `scheme`: an hmac hook may bring its own secret, an ed25519 one may not. */
export async function newKeys(scheme: SignatureScheme, requested?: string): Promise<HookKeys> {
  if (scheme === "ed25519") {
    if (requested !== undefined) {
      throw badRequest("Invalid webhook", { secret_key: [ED25519_OWN_SECRET] });
    }
    return generateEd25519Keys();
  }
  if (requested !== undefined && !isUsableSecret(requested)) {
    throw badRequest("Invalid webhook", {
      secret_key: ["A whsec_ secret must be followed by base64"],
    });
  }
  return { secretKey: requested ?? generateSecret(), publicKey: null };
}

/** What a delivery made at `now` signs with: `send.ts`'s signing fields. */
export function signingOf(hook: WebhookRow, now: number) {
  const overlapping =
    hook.previousSecretKey !== null &&
    hook.previousSecretUntil !== null &&
    now < hook.previousSecretUntil;
  return {
    secret: hook.secretKey,
    signature: hook.signature,
    previousSecret: overlapping ? hook.previousSecretKey : null,
  };
}
