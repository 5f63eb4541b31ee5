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
  /** Stops `wrangler dev` and starts it again on the same port with the same local state. */
  restart(): Promise<void>;
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

/** Waits until nothing answers on the old server's port (workerd may outlive wrangler briefly). */
async function portReleased(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${url}/health`, { signal: AbortSignal.timeout(500) });
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} still answers 10 s after wrangler dev was stopped`);
}

/**
 * `wrangler dev` on a free port with a fresh local D1 (migrations applied), as `npm start` runs it.
 * `vars` override wrangler.toml's (e.g. a short `DISABLE_AFTER_HOURS` for a test).
 */
export async function startDevServer(vars: Record<string, string> = {}): Promise<DevServer> {
  prepareLocal();
  const persistTo = mkdtempSync(join(tmpdir(), "switchboard-e2e-"));
  applyMigrations(persistTo);
  const port = await freePort();
  const launch = () =>
    startWrangler({
      port,
      persistTo,
      quiet: true,
      vars: { ADMIN_TOKEN: DEV_ADMIN_TOKEN, WEBHOOK_ALLOW_PRIVATE_TARGETS: "true", ...vars },
      cron: true,
    });
  let server = await launch();
  return {
    url: server.url,
    fireCron: () => fireCron(server.url),
    restart: async () => {
      await server.stop();
      await portReleased(server.url);
      server = await launch();
    },
    stop: async () => {
      await server.stop();
      rmSync(persistTo, { recursive: true, force: true });
    },
  };
}

/** Calls the server's HTTP API with a token (the admin's unless given); JSON in and out. */
export function apiOf(server: Pick<DevServer, "url">) {
  return async (method: string, path: string, body?: unknown, token = DEV_ADMIN_TOKEN) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
}
