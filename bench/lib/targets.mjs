// The rooms a broadcast scenario talks to: Switchboard's bus channel and the three peers.
// Each target opens `count` subscribers in one room and publishes 200-byte events into it.

import WebSocket from "ws";
import { closeSockets, openSocket, openSockets, request, requestRetrying } from "./net.mjs";
import { ADMIN_TOKEN } from "./servers.mjs";

export const EVENT_BYTES = 200;
const KEEPALIVE_MS = 20_000;
const I_KEY = Buffer.from('"i":');

function padded(head, tail) {
  return head + "x".repeat(Math.max(0, EVENT_BYTES - head.length - tail.length)) + tail;
}

/** A peer frame of exactly 200 bytes: {"event":"bench","data":{"i":<i>,"pad":"xx…"}}. */
export function peerFrame(i) {
  return padded(`{"event":"bench","data":{"i":${i},"pad":"`, '"}}');
}

/** A bus message whose JSON is 200 bytes: {"type":"bench","i":<i>,"pad":"xx…"}. */
export function busMessage(i) {
  return JSON.parse(padded(`{"type":"bench","i":${i},"pad":"`, '"}'));
}

/** The event index carried by a received frame, without parsing the whole JSON (-1: none). */
export function indexOfFrame(buf) {
  return indexAt(buf, buf.indexOf(I_KEY));
}

/**
 * Every event index of a frame: a coalesced frame (`?batch=1`, a JSON array) carries several,
 * each counted as one delivery; `[` is 0x5b.
 */
export function indexesOfFrame(buf) {
  if (buf[0] !== 0x5b) return [indexOfFrame(buf)];
  const out = [];
  for (let at = buf.indexOf(I_KEY); at >= 0; at = buf.indexOf(I_KEY, at + I_KEY.length)) {
    out.push(indexAt(buf, at));
  }
  return out;
}

function indexAt(buf, at) {
  if (at < 0) return -1;
  let value = 0;
  for (let k = at + I_KEY.length; k < buf.length; k++) {
    const c = buf[k];
    if (c < 48 || c > 57) break;
    value = value * 10 + (c - 48);
  }
  return value;
}

/**
 * Events per batch publish in ours' fan-out throughput phase (`BENCH_BUS_BATCH`; 1 turns
 * batching off). Picked by measurement, see "Fifth round" in bench/README.md.
 */
export const BUS_BATCH = Math.max(1, Number(process.env.BENCH_BUS_BATCH ?? 50));

/** Mints a client token on Switchboard. */
export async function mintToken(ours, user, permissions) {
  const res = await request("POST", `${ours.url}/api/tokens`, {
    token: ADMIN_TOKEN,
    body: { user, permissions, ttl_seconds: 7200 },
  });
  if (res.status !== 201) throw new Error(`POST /api/tokens: ${res.status} ${res.text}`);
  return res.json.token;
}

/**
 * Client tokens for `count` subscribers, one user per `perUser` of them: a socket upgrade or a
 * poll is an HTTP call, and a client token's user may make 600 per 10 s (wrangler.toml); and one
 * user may hold at most MAX_SOCKETS_PER_USER (100) sockets in one room.
 */
export function subscriberTokens(ours, permissions, perUser = 100) {
  const minted = [];
  return async (count) => {
    while (minted.length * perUser < count) {
      const n = minted.length;
      minted.push(await mintToken(ours, { id: `bench-${n}`, name: `Bench ${n}` }, permissions));
    }
    return (i) => minted[Math.floor(i / perUser)];
  };
}

/**
 * Switchboard: subscribers on the bus WebSocket `/ws/bus/:db?channels=<room>`, the publisher on
 * `POST /api/bus/:db/publish` (durable before it answers, then sent to every socket). With
 * `batch` > 1 (the fan-out) the subscribers add `&batch=1` (several messages of one commit arrive
 * as one array) and a throughput phase publishes `batch` messages per call (`publishBatch`).
 */
export function oursTarget(ours, db, { batch = 1 } = {}) {
  const tokens = subscriberTokens(ours, ["bus.listen:bench-*"]);
  return {
    name: "ours",
    async open(room, count, onFrame, concurrency) {
      const tokenOf = await tokens(count);
      const flag = batch > 1 ? "&batch=1" : "";
      const url = (i) => `${ours.ws}/ws/bus/${db}?channels=${room}${flag}&token=${tokenOf(i)}`;
      const sockets = await openSockets(count, url, onFrame, concurrency);
      const failures = [];
      // Rooms drop sockets silent for 60 s; clients send the text frame `ping` (answered by the
      // runtime without waking the room), as RoomClient's keepalive does.
      const keepalive = setInterval(() => {
        for (const ws of sockets) if (ws.readyState === WebSocket.OPEN) ws.send("ping");
      }, KEEPALIVE_MS);
      const post = (body) =>
        requestRetrying("POST", `${ours.url}/api/bus/${db}/publish`, {
          token: ADMIN_TOKEN,
          body,
        }).then(
          (res) => {
            if (res.status !== 201) failures.push(`${res.status} ${res.text.slice(0, 200)}`);
          },
          (err) => failures.push(String(err)),
        );
      return {
        sockets,
        failures,
        batch,
        publish(i) {
          return post({ channel: room, message: busMessage(i) });
        },
        publishBatch(indexes) {
          return post({
            messages: indexes.map((i) => ({ channel: room, message: busMessage(i) })),
          });
        },
        close: () => {
          clearInterval(keepalive);
          return closeSockets(sockets);
        },
      };
    },
  };
}

/** A peer room: a publisher socket in the room sends the frame; the server relays it to all others. */
export function peerTarget(name, roomUrl) {
  return {
    name,
    roomUrl,
    async open(room, count, onFrame, concurrency) {
      const url = roomUrl(room);
      const sockets = await openSockets(count, url, onFrame, concurrency);
      const publisher = await openSocket(url);
      return {
        sockets,
        failures: [],
        publish(i) {
          publisher.send(peerFrame(i));
        },
        close: () => closeSockets([...sockets, publisher]),
      };
    },
  };
}

export function peerTargets(servers) {
  return [
    peerTarget("bare DO", (room) => `${servers.peers.ws}/bare/${room}`),
    peerTarget("PartyServer", (room) => `${servers.party.ws}/parties/party-room/${room}`),
    peerTarget("Node ws", (room) => `${servers.node.ws}/${room}`),
  ];
}

/**
 * The bare Durable Object with HTTP publishing: `POST /bare/:room/publish` (with `?durable=1` a
 * SQLite insert first), then the same send loop. The floor for Switchboard's durable bus publish.
 */
export function bareHttpTarget(servers, { durable }) {
  const base = `${servers.peers.url}/bare`;
  return {
    name: durable ? "bare DO + SQLite" : "bare DO (HTTP publish)",
    async open(room, count, onFrame, concurrency) {
      const sockets = await openSockets(
        count,
        `${servers.peers.ws}/bare/${room}`,
        onFrame,
        concurrency,
      );
      const failures = [];
      const query = durable ? "?durable=1&channel=bench" : "?channel=bench";
      return {
        sockets,
        failures,
        publish(i) {
          return request("POST", `${base}/${room}/publish${query}`, {
            body: JSON.parse(peerFrame(i)),
          }).then(
            (res) => {
              if (res.status !== 201) failures.push(`${res.status} ${res.text.slice(0, 200)}`);
            },
            (err) => failures.push(String(err)),
          );
        },
        close: () => closeSockets(sockets),
      };
    },
  };
}
