import { and, eq, sql } from "drizzle-orm";
import type { Caller } from "../../platform/auth/caller";
import { getDb } from "../../platform/db";
import { notFound } from "../../platform/errors";
import * as time from "../../platform/time";
import { findWebhook } from "./queries";
import { webhooks } from "./schema";
import { newKeys, rotationOverlapMs } from "./secrets";
import { scopeOf } from "./subscriptions";

/** The rotate answer: the new hmac secret, or an ed25519 hook's new public key (never its secret). */
export type RotationAnswer = { secret_key: string } | { public_key: string };

/**
 * Replaces a hook's secret; the old one keeps signing for the overlap. Rotating again within it
 * drops the oldest (two secrets at most, as Svix does). Users rotate their own hooks (404 else).
 */
export async function rotateSecret(
  env: Env,
  caller: Caller,
  id: string,
  requested?: string,
): Promise<RotationAnswer> {
  const db = getDb(env.DB);
  const hook = await findWebhook(db, scopeOf(caller), id);
  if (!hook) throw notFound("Webhook");
  const keys = await newKeys(hook.signature, requested);
  const now = time.now();
  let rows: { id: string }[];
  try {
    // One statement: SQLite reads `secret_key` before the update, so the old one moves over whole.
    rows = await db
      .update(webhooks)
      .set({
        previousSecretKey: sql`${webhooks.secretKey}`,
        previousSecretUntil: now + rotationOverlapMs(env),
        secretKey: keys.secretKey,
        publicKey: keys.publicKey,
        updatedAt: now,
      })
      .where(and(eq(webhooks.id, hook.id), eq(webhooks.signature, hook.signature)))
      .returning({ id: webhooks.id });
  } catch (err) {
    // drizzle's message lists the bound values (the new secret): keep D1's own message only.
    let root = err as Error;
    while (root?.cause instanceof Error) root = root.cause;
    throw new Error(`Rotating a webhook secret failed: ${root?.message ?? "unknown error"}`);
  }
  if (rows.length === 0) throw notFound("Webhook");
  return keys.publicKey ? { public_key: keys.publicKey } : { secret_key: keys.secretKey };
}
