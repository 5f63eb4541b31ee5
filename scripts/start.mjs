// `npm start`: local D1 (migrations applied), local Queues, cron, on http://127.0.0.1:8787, and a
// link for running a planning poker session with the local organiser key.
import { join } from "node:path";
import { devOutputFilter } from "./dev-output.mjs";
import {
  applyMigrations,
  fireCron,
  prepareLocal,
  ROOT,
  readDevVar,
  startWrangler,
} from "./local.mjs";
import { ensureOrganiserKey } from "./organiser-key.mjs";

const PORT = Number(process.env.PORT ?? 8787);
// Another directory holds another local database and organiser key (the end-to-end test's).
const STATE = process.env.SWITCHBOARD_STATE_DIR || join(ROOT, ".wrangler", "state");
const CRON_EVERY_MS = 60 * 1000;

prepareLocal();
console.log(applyMigrations(STATE));
console.log("Starting wrangler dev…");
const output = devOutputFilter({ verbose: Boolean(process.env.SWITCHBOARD_VERBOSE) });
const server = await startWrangler({ port: PORT, persistTo: STATE, cron: true, show: output.show });
console.log(
  `\nSwitchboard is up on ${server.url}  (docs: ${server.url}/docs, admin token in .dev.vars)`,
);
await printOrganiserLink();
output.started();

async function printOrganiserLink() {
  const adminToken = readDevVar("ADMIN_TOKEN");
  if (!adminToken) return console.error("No ADMIN_TOKEN in .dev.vars, so no organiser link");
  try {
    const key = await ensureOrganiserKey({
      url: server.url,
      adminToken,
      file: join(STATE, "organiser-key"),
    });
    console.log(`Run a planning poker session: ${server.url}/poker/#key=${key}\n`);
  } catch (err) {
    console.error(`Could not make the organiser link: ${err.message}`);
  }
}

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
