// The plain Node peer (bench/README.md): a `ws` server that sends every frame it gets to every
// other socket of the same path (room), plus an in-memory HTTP long poll answered by publish.
// Run as its own process so its event loop and memory are its own: node node-server.mjs <port>
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

const port = Number(process.argv[2]);
const rooms = new Map();
const waiters = new Map();

const server = createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  if (url.pathname === "/health") return res.end('{"ok":true}');
  const channel = url.searchParams.get("channel") ?? "";
  if (url.pathname === "/poll") {
    const list = waiters.get(channel) ?? [];
    list.push(res);
    waiters.set(channel, list);
    req.resume();
    return;
  }
  if (url.pathname === "/publish") {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const waiting = waiters.get(channel);
      waiters.delete(channel);
      for (const poll of waiting ?? []) poll.end(body);
      res.statusCode = 201;
      res.end('{"seq":0}');
    });
    return;
  }
  res.statusCode = 404;
  res.end();
});

const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on("connection", (ws, req) => {
  const room = rooms.get(req.url) ?? new Set();
  rooms.set(req.url, room);
  room.add(ws);
  ws.on("message", (data, isBinary) => {
    for (const peer of room) if (peer !== ws) peer.send(data, { binary: isBinary });
  });
  ws.on("close", () => room.delete(ws));
  ws.on("error", () => room.delete(ws));
});

server.listen(port, "127.0.0.1", () => console.log("ready"));
