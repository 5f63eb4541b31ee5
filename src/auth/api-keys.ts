import { getDb } from "../db/client";
import { selectLiveKeyIds } from "../db/queries/api-keys";

/**
 * Which of these API key ids are still live (exist, not revoked, not expired), in one D1 query.
 * Rooms call it periodically for the sockets whose credential carries a key id.
 */
export async function liveKeyIds(env: Env, ids: string[]): Promise<Set<string>> {
  const unique = [...new Set(ids)];
  return new Set(await selectLiveKeyIds(getDb(env.DB), unique, Date.now()));
}
