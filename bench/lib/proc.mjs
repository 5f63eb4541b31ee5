// Process facts from /proc (Linux): the workerd under a `wrangler dev`, its resident memory, and
// the machine the run happened on.
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";

function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return -1;
  }
}

function nameOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/** The first descendant of `root` named `name` (e.g. the workerd a wrangler dev started). */
export function findDescendant(root, name) {
  const pids = readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  const children = new Map();
  for (const pid of pids) {
    const parent = parentOf(pid);
    children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift();
    if (pid !== root && nameOf(pid) === name) return pid;
    queue.push(...(children.get(pid) ?? []));
  }
  return null;
}

/** Resident set size in KiB. */
export function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? Number.NaN);
}

export function loadAverage() {
  return os.loadavg().map((l) => Number(l.toFixed(2)));
}

export function machine() {
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    memory_gib: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}
