import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
// @ts-expect-error: plain ESM script shared with `npm start`
import { applyMigrations, fireCron, prepareLocal, startWrangler } from "../../../scripts/local.mjs";

export const DEV_ADMIN_TOKEN = "dev-admin-token";

export interface DevServer {
  url: string;
  /** Runs the scheduled handler once, as `npm start` does every minute; the HTTP status. */
  fireCron(): Promise<number>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `wrangler dev` on a free port with a fresh local D1 (migrations applied), as `npm start` runs it. */
export async function startDevServer(): Promise<DevServer> {
  prepareLocal();
  const persistTo = mkdtempSync(join(tmpdir(), "switchboard-e2e-"));
  applyMigrations(persistTo);
  const server = await startWrangler({
    port: await freePort(),
    persistTo,
    quiet: true,
    vars: { ADMIN_TOKEN: DEV_ADMIN_TOKEN, WEBHOOK_ALLOW_PRIVATE_TARGETS: "true" },
    cron: true,
  });
  return {
    url: server.url,
    fireCron: () => fireCron(server.url),
    stop: async () => {
      await server.stop();
      rmSync(persistTo, { recursive: true, force: true });
    },
  };
}
