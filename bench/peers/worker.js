// The peers Switchboard is measured against (bench/README.md), on the same workerd:
//   /bare/:room                the physical floor: a hibernatable Durable Object that sends every
//                              frame it gets to every other socket of the room (one `send` loop);
//                              POST .../publish?channel= sends the body the same way (with
//                              &durable=1 it is stored in SQLite first); POST .../poll?channel=
//                              is an in-memory long poll answered by the next publish.
//   /parties/party-room/:room  a PartyServer room doing the same broadcast;
//   POST /queue/emit           a bare Queue producer whose consumer POSTs each message to its
//                              target (the floor of webhook delivery, no bookkeeping).
import { DurableObject } from "cloudflare:workers";
import { routePartykitRequest, Server } from "partyserver";

export class BareRoom extends DurableObject {
  waiters = new Map();

  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, body TEXT NOT NULL)",
    );
  }

  fetch() {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /** Resolves with the next message published on `channel`. */
  poll(channel) {
    return new Promise((resolve) => {
      const list = this.waiters.get(channel) ?? [];
      list.push(resolve);
      this.waiters.set(channel, list);
    });
  }

  publish(channel, body, durable) {
    let seq = 0;
    if (durable) {
      seq = this.ctx.storage.sql
        .exec("INSERT INTO messages (channel, body) VALUES (?, ?) RETURNING seq", channel, body)
        .one().seq;
    }
    this.fanOut(body);
    const waiting = this.waiters.get(channel);
    if (waiting) {
      this.waiters.delete(channel);
      for (const resolve of waiting) resolve(body);
    }
    return seq;
  }

  webSocketMessage(ws, message) {
    this.fanOut(message, ws);
  }

  webSocketClose(ws, code, reason) {
    ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
  }

  fanOut(message, except) {
    for (const ws of this.ctx.getWebSockets()) {
      if (ws === except) continue;
      try {
        ws.send(message);
      } catch {
        // closed meanwhile
      }
    }
  }
}

export class PartyRoom extends Server {
  static options = { hibernate: true };

  onMessage(connection, message) {
    this.broadcast(message, [connection.id]);
  }
}

async function deliver(message) {
  const { target, body } = message.body;
  try {
    const res = await fetch(target, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
      redirect: "manual",
    });
    await res.arrayBuffer();
    if (res.ok) message.ack();
    else message.retry({ delaySeconds: 0 });
  } catch {
    message.retry({ delaySeconds: 0 });
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/health") return Response.json({ ok: true });
    const bare = url.pathname.match(/^\/bare\/([^/]+)(\/poll|\/publish)?$/);
    if (bare) {
      // RPC, as Switchboard's Worker calls its rooms (a fetch subrequest costs more under
      // `wrangler dev`: its inspector proxy relays every Network event to the Node process).
      const room = env.BARE_ROOM.get(env.BARE_ROOM.idFromName(bare[1]));
      const channel = url.searchParams.get("channel") ?? "";
      if (bare[2] === "/poll") return new Response(await room.poll(channel));
      if (bare[2] === "/publish") {
        const seq = await room.publish(
          channel,
          await request.text(),
          url.searchParams.has("durable"),
        );
        return Response.json({ seq }, { status: 201 });
      }
      return room.fetch(request);
    }
    if (url.pathname === "/queue/emit" && request.method === "POST") {
      const { target, event } = await request.json();
      await env.BARE_QUEUE.send({ target, body: JSON.stringify(event) });
      return Response.json({ ok: true }, { status: 202 });
    }
    return (await routePartykitRequest(request, env)) ?? new Response("not found", { status: 404 });
  },

  async queue(batch) {
    await Promise.all(batch.messages.map(deliver));
  },
};
