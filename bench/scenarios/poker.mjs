// Scenario 3, a poker round: V voters vote on one story at once; the figure is the time from
// the first vote until every client has seen all V votes (what a user feels).
// Ours: a real session on /ws/poker/:id; each vote makes the room re-send `story_changed` (votes
// hidden per viewer) to everyone. Peers: every voter's frame is relayed to all other sockets,
// the least a server can do for the same outcome.
import { performance } from "node:perf_hooks";
import { closeSockets, expectStatus, openSockets, request } from "../lib/net.mjs";
import { ADMIN_TOKEN } from "../lib/servers.mjs";
import { mintToken } from "../lib/targets.mjs";

/** Resolves once `done()` holds (checked after every frame), or rejects after `timeoutMs`. */
function until(clients, done, what, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      clients.check = null;
      reject(new Error(`poker: timed out waiting for ${what}`));
    }, timeoutMs);
    clients.check = () => {
      if (!done()) return;
      clearTimeout(timer);
      clients.check = null;
      resolve();
    };
    clients.check();
  });
}

async function oursRounds(ours, voters, rounds, log) {
  const session = await expectStatus(
    request("POST", `${ours.url}/api/poker/sessions`, {
      token: ADMIN_TOKEN,
      body: { name: "Bench", choices: ["1", "2", "3", "5", "8"] },
    }),
    201,
    "POST /api/poker/sessions",
  );
  const stories = [];
  for (let k = 0; k < rounds; k++) {
    const story = await expectStatus(
      request("POST", `${ours.url}/api/poker/sessions/${session.id}/stories`, {
        token: ADMIN_TOKEN,
        body: { story_label: `Story ${k}`, description: "<p>bench</p>" },
      }),
      201,
      "POST /api/poker/sessions/:id/stories",
    );
    stories.push(story.id);
  }
  const tokens = [
    await mintToken(ours, { id: "moderator", name: "Moderator" }, ["planning_poker.moderate"]),
  ];
  for (let v = 0; v < voters; v++) {
    tokens.push(
      await mintToken(ours, { id: `voter-${v}`, name: `Voter ${v}` }, ["planning_poker.vote"]),
    );
  }
  const clients = { check: null, state: tokens.map(() => ({ story: null, voted: 0, at: 0 })) };
  const sockets = await openSockets(
    tokens.length,
    (i) => `${ours.ws}/ws/poker/${session.id}?token=${tokens[i]}`,
    (data, i) => {
      const frame = JSON.parse(data.toString());
      if (frame.event !== "story_changed") return;
      const s = clients.state[i];
      s.story = frame.data.id;
      s.voted = frame.data.voted.length;
      if (s.voted === voters && !s.at) s.at = performance.now();
      clients.check?.();
    },
  );
  const [moderator, ...voterSockets] = sockets;
  const times = [];
  try {
    for (let k = 0; k < rounds; k++) {
      moderator.send(
        JSON.stringify({ event: "next_story_requested", data: { story_id: stories[k] } }),
      );
      await until(
        clients,
        () => clients.state.every((s) => s.story === stories[k] && s.voted === 0),
        `story ${k} to become active everywhere`,
      );
      for (const s of clients.state) s.at = 0;
      const start = performance.now();
      for (const ws of voterSockets) ws.send('{"event":"vote_submitted","data":{"choice":"3"}}');
      await until(
        clients,
        () => clients.state.every((s) => s.at),
        `all ${voters} votes, round ${k}`,
      );
      times.push(Math.max(...clients.state.map((s) => s.at)) - start);
    }
  } finally {
    await closeSockets(sockets);
  }
  log(`  ours: ${times.map((t) => t.toFixed(1)).join(", ")} ms`);
  return times;
}

async function peerRounds(target, voters, rounds, log) {
  const clients = {
    check: null,
    state: Array.from({ length: voters }, () => ({ seen: 0, at: 0 })),
  };
  let round = -1;
  const url = target.roomUrl(`bench-poker-${Date.now()}`);
  const sockets = await openSockets(voters, url, (data, i) => {
    const frame = JSON.parse(data.toString());
    if (frame.data.round !== round) return;
    const s = clients.state[i];
    if (++s.seen === voters - 1) s.at = performance.now();
    clients.check?.();
  });
  const times = [];
  try {
    for (round = 0; round < rounds; round++) {
      for (const s of clients.state) Object.assign(s, { seen: 0, at: 0 });
      const start = performance.now();
      sockets.forEach((ws, v) => {
        ws.send(
          JSON.stringify({ event: "vote_submitted", data: { round, voter: v, choice: "3" } }),
        );
      });
      await until(clients, () => clients.state.every((s) => s.at), `${target.name} round ${round}`);
      times.push(Math.max(...clients.state.map((s) => s.at)) - start);
    }
  } finally {
    await closeSockets(sockets);
  }
  log(`  ${target.name}: ${times.map((t) => t.toFixed(1)).join(", ")} ms`);
  return times;
}

/** The first round of each target is a warm-up and is dropped. */
export async function poker({ servers, peers, voters, runs, log }) {
  const results = { ours: (await oursRounds(servers.ours, voters, runs + 1, log)).slice(1) };
  for (const peer of peers) {
    results[peer.name] = (await peerRounds(peer, voters, runs + 1, log)).slice(1);
  }
  return results;
}
