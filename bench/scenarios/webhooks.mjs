// Scenario 5, webhooks: E events emitted through the API, delivered to a local Node receiver
// that answers 200 (or 500 to a random 30 % of attempts). The figure is E over the time from the
// first emit to the last event's first success; every event must succeed, and exactly once, and
// ours' attempt log must hold every attempt the receiver saw, with one success per event.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { performance } from "node:perf_hooks";
import { expectStatus, request, requestRetrying, sleep } from "../lib/net.mjs";
import { ADMIN_TOKEN, freePort } from "../lib/servers.mjs";
import { slot } from "../lib/stats.mjs";

/** The receiver: counts successes per event id (`webhook-id`, else the payload's uuid) per path. */
async function startReceiver() {
  const runs = new Map();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const run = runs.get(req.url);
      if (!run) {
        res.statusCode = 404;
        return res.end();
      }
      run.attempts++;
      if (Math.random() < run.failRate) {
        res.statusCode = 500;
        return res.end("try again");
      }
      const id =
        req.headers["webhook-id"] ?? JSON.parse(Buffer.concat(chunks).toString()).event.uuid;
      const seen = run.successes.get(id) ?? 0;
      run.successes.set(id, seen + 1);
      if (seen === 0 && run.successes.size === 1) run.firstSuccess = performance.now();
      if (seen === 0 && run.successes.size === run.expected) run.done(performance.now());
      res.end("ok");
    });
  });
  const port = await freePort();
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    expect(path, expected, failRate) {
      const run = { attempts: 0, successes: new Map(), expected, failRate };
      run.finished = new Promise((resolve) => {
        run.done = resolve;
      });
      runs.set(path, run);
      return run;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  };
}

/** Switchboard: a hook per run on its own event type, events emitted with POST /api/webhook-events. */
function oursEmitter(ours) {
  return {
    name: "ours",
    async prepare(label, targetUrl) {
      const eventType = `bench.${label}`;
      await expectStatus(
        request("POST", `${ours.url}/api/webhooks/event-types`, {
          token: ADMIN_TOKEN,
          body: { event_type: eventType, description: "Benchmark deliveries" },
        }),
        201,
        "POST /api/webhooks/event-types",
      );
      const hook = await expectStatus(
        request("POST", `${ours.url}/api/webhooks`, {
          token: ADMIN_TOKEN,
          body: {
            event_type: eventType,
            target_url: targetUrl,
            retry_countdown_config: { choice: "fixed", kwargs: { seconds: 0 } },
            max_retries: 25,
          },
        }),
        201,
        "POST /api/webhooks",
      );
      this.hookId = hook.id;
      // With its own event_uuid an emit may be repeated safely: the same uuid is delivered once.
      return (i) =>
        expectStatus(
          requestRetrying("POST", `${ours.url}/api/webhook-events`, {
            token: ADMIN_TOKEN,
            body: { event_type: eventType, data: { i, note: "bench" }, event_uuid: randomUUID() },
          }),
          202,
          "POST /api/webhook-events",
        );
    },
    /** What is wrong with the run's attempt log (null when complete), waiting for the last writes. */
    async logProblem(run) {
      const deadline = performance.now() + 10_000;
      for (;;) {
        const problem = attemptLogProblem(await attemptLog(ours, this.hookId), run);
        if (!problem || performance.now() > deadline) return problem;
        await sleep(250);
      }
    },
  };
}

async function attemptLog(ours, hookId) {
  const rows = [];
  for (let offset = 0; offset !== null; ) {
    const page = await expectStatus(
      request("GET", `${ours.url}/api/webhooks/${hookId}/deliveries?limit=200&offset=${offset}`, {
        token: ADMIN_TOKEN,
      }),
      200,
      "GET /api/webhooks/:id/deliveries",
    );
    rows.push(...page.results);
    offset = page.next;
  }
  return rows;
}

/** The log must hold one finished row per attempt the receiver saw and one success per event. */
function attemptLogProblem(rows, run) {
  const open = rows.filter((r) => r.status === "pending" || r.status === "retrying").length;
  if (open) return `${open} attempts still open in the log`;
  if (rows.length !== run.attempts) {
    return `${rows.length} attempts in the log, ${run.attempts} received`;
  }
  const successes = new Map();
  for (const r of rows) {
    if (r.status === "succeeded")
      successes.set(r.event_uuid, (successes.get(r.event_uuid) ?? 0) + 1);
  }
  if (successes.size !== run.expected || [...successes.values()].some((n) => n !== 1)) {
    return `${successes.size} of ${run.expected} events logged as succeeded once`;
  }
  return null;
}

/** The bare Queue peer: one HTTP call enqueues the event; the consumer POSTs it, retrying at once. */
function bareQueueEmitter(peers) {
  return {
    name: "bare Queue consumer",
    async prepare(label, targetUrl) {
      return (i) =>
        expectStatus(
          request("POST", `${peers.url}/queue/emit`, {
            body: {
              target: targetUrl,
              event: {
                event: { type: `bench.${label}`, uuid: randomUUID() },
                data: { i, note: "bench" },
              },
            },
          }),
          202,
          "POST /queue/emit",
        );
    },
  };
}

async function deliveryRun(emitter, receiver, { label, events, failRate, concurrency }) {
  const path = `/${emitter.name.replace(/\W+/g, "-")}/${label}`;
  const emit = await emitter.prepare(label, `${receiver.url}${path}`);
  const run = receiver.expect(path, events, failRate);
  const start = performance.now();
  let next = 0;
  const emitters = Array.from({ length: concurrency }, async () => {
    while (next < events) await emit(next++);
  });
  await Promise.all(emitters);
  const emitted = performance.now();
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 60_000));
  const end = await Promise.race([run.finished, timeout]);
  if (end === null) {
    throw new Error(`${emitter.name}: ${run.successes.size} of ${events} delivered after 60 s`);
  }
  // A short grace period catches a late second success of an already delivered event.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const duplicates = [...run.successes.values()].filter((n) => n > 1).length;
  const logProblem = await emitter.logProblem?.(run);
  if (logProblem) throw new Error(`${emitter.name}: ${logProblem}`);
  return {
    perS: (events * 1000) / (end - start),
    attempts: run.attempts,
    duplicates,
    // Where the time went: emitting all events, until the first success, until the last.
    phasesMs: [emitted - start, run.firstSuccess - start, end - start].map(Math.round),
  };
}

export async function webhooks({ servers, runs, events, log }) {
  const receiver = await startReceiver();
  const emitters = [oursEmitter(servers.ours), bareQueueEmitter(servers.peers)];
  const results = {};
  try {
    for (const [mode, failRate] of [
      ["ok", 0],
      ["fail30", 0.3],
    ]) {
      for (let run = 0; run <= runs; run++) {
        for (const emitter of emitters) {
          const r = await deliveryRun(emitter, receiver, {
            label: `${mode}-${run}-${Date.now()}`,
            events: run === 0 ? Math.ceil(events / 4) : events,
            failRate,
            concurrency: 16,
          });
          if (r.duplicates && emitter.name === "ours") {
            throw new Error(`ours: ${r.duplicates} events succeeded twice`);
          }
          log(
            `  ${run ? `run ${run}` : "warm-up"} ${mode} ${emitter.name}: ${Math.round(r.perS)} deliveries/s (${r.attempts} attempts for ${run === 0 ? Math.ceil(events / 4) : events} events; emitted by ${r.phasesMs[0]} ms, first success ${r.phasesMs[1]} ms, last ${r.phasesMs[2]} ms)`,
          );
          if (run === 0) continue;
          slot(
            slot(results, mode, () => ({})),
            emitter.name,
            () => [],
          ).push(r.perS);
        }
      }
    }
  } finally {
    await receiver.close();
  }
  return results;
}
