// Starts the servers of a benchmark run, each in its own process: Switchboard under
// `wrangler dev` (as `npm start` runs it, on a fresh local D1), the peers' worker under two more
// `wrangler dev` (same workerd build; one serves the bare DO, one PartyServer), and the plain Node
// `ws` peer.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  applyMigrations,
  prepareLocal,
  ROOT,
  startWrangler,
  stopProcessGroup,
} from "../../scripts/local.mjs";
import { findDescendant } from "./proc.mjs";

export const ADMIN_TOKEN = "dev-admin-token";

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function wsUrl(url) {
  return url.replace(/^http/, "ws");
}

async function startOurs() {
  prepareLocal();
  const persistTo = mkdtempSync(join(tmpdir(), "switchboard-bench-"));
  applyMigrations(persistTo);
  const server = await startWrangler({
    port: await freePort(),
    persistTo,
    quiet: !process.env.BENCH_VERBOSE,
    vars: { ADMIN_TOKEN, WEBHOOK_ALLOW_PRIVATE_TARGETS: "true" },
  });
  return {
    url: server.url,
    ws: wsUrl(server.url),
    pid: findDescendant(server.child.pid, "workerd"),
    output: server.output,
    stop: async () => {
      await server.stop();
      rmSync(persistTo, { recursive: true, force: true });
    },
  };
}

async function startPeers() {
  const persistTo = mkdtempSync(join(tmpdir(), "switchboard-bench-peers-"));
  const server = await startWrangler({
    port: await freePort(),
    persistTo,
    quiet: !process.env.BENCH_VERBOSE,
    config: join(ROOT, "bench", "peers", "wrangler.toml"),
  });
  return {
    url: server.url,
    ws: wsUrl(server.url),
    pid: findDescendant(server.child.pid, "workerd"),
    output: server.output,
    stop: async () => {
      await server.stop();
      rmSync(persistTo, { recursive: true, force: true });
    },
  };
}

async function startNodePeer() {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, "bench", "peers", "node-server.mjs"), port], {
    detached: true,
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("Node ws peer did not start")), 10_000);
    child.stdout.once("data", () => {
      clearTimeout(timer);
      resolve();
    });
    child.once("exit", (code) => reject(new Error(`Node ws peer exited (${code})`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return { url, ws: wsUrl(url), pid: child.pid, stop: () => stopProcessGroup(child) };
}

/** Starts every server; `stop()` stops them all (also on failure half-way). */
export async function startServers() {
  const started = [];
  const stop = () => Promise.all(started.map((s) => s.stop()));
  try {
    const ours = await startOurs();
    started.push(ours);
    const peers = await startPeers();
    started.push(peers);
    // PartyServer gets a workerd of its own so each server's memory is measured alone.
    const party = await startPeers();
    started.push(party);
    const node = await startNodePeer();
    started.push(node);
    return { ours, peers, party, node, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
