// `npm start`: local D1 (migrations applied), local Queues, cron, on http://127.0.0.1:8787.
import { join } from "node:path";
import { applyMigrations, prepareLocal, ROOT, startWrangler } from "./local.mjs";

const PORT = Number(process.env.PORT ?? 8787);
const PERSIST = join(ROOT, ".wrangler", "state");
const CRON = "*/5 * * * *";
const CRON_EVERY_MS = 5 * 60 * 1000;

prepareLocal();
applyMigrations(PERSIST);
const server = await startWrangler({ port: PORT, persistTo: PERSIST });
console.log(
  `\nSwitchboard is up on ${server.url}  (docs: ${server.url}/docs, poker: ${server.url}/poker/)\n`,
);

// wrangler dev does not fire cron triggers by itself; run the scanner on the same schedule.
const cron = setInterval(() => {
  fetch(`${server.url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(CRON)}`).catch(() => {});
}, CRON_EVERY_MS);

const shutdown = async () => {
  clearInterval(cron);
  await server.stop();
  process.exit(0);
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
server.child.on("exit", (code) => {
  clearInterval(cron);
  process.exit(code ?? 0);
});
