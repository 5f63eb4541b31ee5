// `npm start`: local D1 (migrations applied), local Queues, cron, on http://127.0.0.1:8787.
import { join } from "node:path";
import { applyMigrations, fireCron, prepareLocal, ROOT, startWrangler } from "./local.mjs";

const PORT = Number(process.env.PORT ?? 8787);
const PERSIST = join(ROOT, ".wrangler", "state");
const CRON_EVERY_MS = 60 * 1000;

prepareLocal();
applyMigrations(PERSIST);
const server = await startWrangler({ port: PORT, persistTo: PERSIST, cron: true });
console.log(
  `\nSwitchboard is up on ${server.url}  (docs: ${server.url}/docs, poker: ${server.url}/poker/)\n`,
);

// wrangler dev does not fire cron triggers by itself; run the periodic jobs on the same schedule.
const cron = setInterval(() => {
  fireCron(server.url).then(
    (status) => status === 200 || console.error(`The cron run answered ${status}`),
    (err) => console.error(`The cron run failed: ${err}`),
  );
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
