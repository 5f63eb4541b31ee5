import { z } from "zod";
import { PERMISSIONS } from "../../platform/auth/permissions";
import { signValue, type TokenSecrets, verifyValue } from "../../platform/auth/tokens";
import * as time from "../../platform/time";
import { InviteRole } from "../../protocol/poker-rest";

/** Signed invites are bound to this audience, so a client token is never an invite. */
export const INVITE_AUDIENCE = "switchboard:poker-invite";

/** What a person who joins with an invite of this role may do. */
export const ROLE_PERMISSIONS: Record<InviteRole, string[]> = {
  voter: [PERMISSIONS.pokerVote],
  moderator: [PERMISSIONS.pokerModerate],
};

const claims = z.object({ sid: z.string(), role: InviteRole });

export async function createInvite(
  secret: string,
  sessionId: string,
  role: InviteRole,
  ttlSeconds: number,
): Promise<{ invite: string; expiresAt: Date }> {
  const exp = Math.floor(time.now() / 1000) + ttlSeconds;
  const invite = await signValue(secret, INVITE_AUDIENCE, { sid: sessionId, role, exp });
  return { invite, expiresAt: new Date(exp * 1000) };
}

/** The role an invite grants in `sessionId`, or null when it is forged, expired or for another. */
export async function readInvite(
  secrets: TokenSecrets,
  sessionId: string,
  invite: string,
): Promise<InviteRole | null> {
  const payload = await verifyValue(secrets, INVITE_AUDIENCE, invite);
  const parsed = claims.safeParse(payload);
  if (!parsed.success || parsed.data.sid !== sessionId) return null;
  return parsed.data.role;
}
