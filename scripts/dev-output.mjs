// Which lines of `wrangler dev` `npm start` shows: its start-up report is replaced by our own
// one-line summary; what the Worker logs, failed requests and anything unknown are kept.
import { stripVTControlCharacters } from "node:util";

const REPORT_LINES = [
  /^Using (secrets|vars) defined in /,
  /^⎔ Starting local server/,
  /^\[wrangler:info\] ✨ Parsed \d+ valid (redirect|header) rules?\.$/,
  /^\[wrangler:info\] Ready on /,
];
const BINDINGS_TABLE = /has access to the following bindings:$/;
const REQUEST = /^\[wrangler:info\] (?<method>[A-Z]+) (?<path>\S+) (?<status>\d{3}) /;
/** What `npm start` itself calls all along: the readiness probe and the minutely cron run. */
const ROUTINE = new Set(["GET /health", "GET /__scheduled"]);
/** The log of a request arrives a moment after its answer; start-up's own calls end this long before. */
const STARTUP_LOG_LAG_MS = 1_000;

/** With `verbose`, every line is shown as wrangler prints it. */
export function devOutputFilter({ verbose = false } = {}) {
  let inBindingsTable = false;
  let starting = true;
  const show = (raw) => {
    if (verbose) return true;
    const line = stripVTControlCharacters(raw);
    if (inBindingsTable) {
      if (line.trim() === "") inBindingsTable = false;
      return false;
    }
    if (BINDINGS_TABLE.test(line)) {
      inBindingsTable = true;
      return false;
    }
    if (REPORT_LINES.some((pattern) => pattern.test(line))) return false;
    const request = line.match(REQUEST)?.groups;
    if (request && Number(request.status) < 400) {
      // Start-up's own calls (the probe, the organiser key) are not the user's traffic.
      if (starting || ROUTINE.has(`${request.method} ${request.path}`)) return false;
    }
    return true;
  };
  const started = () => {
    setTimeout(() => {
      starting = false;
    }, STARTUP_LOG_LAG_MS).unref();
  };
  return { show, started };
}
