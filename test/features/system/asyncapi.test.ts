import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { allFrames, KINDS } from "../../../src/features/system/asyncapi-frames";
import { CLIENT_EVENTS, CLIENT_REPLIES, CLOSE_CODES, SERVER_EVENTS } from "../../../src/protocol";
import { ROOM_KINDS } from "../../../src/rooms";
import { BASE, call } from "../../helpers/http";

/** `GET /asyncapi.json` and its HTML view (contract §2), as the Worker serves them. */

async function document(): Promise<any> {
  const res = await call("GET", "/asyncapi.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Type")).toContain("application/json");
  return res.body;
}

/** The component a `$ref` points at. */
function resolve(doc: any, ref: string): any {
  return ref
    .replace(/^#\//, "")
    .split("/")
    .reduce((node, key) => node?.[key], doc);
}

describe("GET /asyncapi.json", () => {
  it("is an AsyncAPI 3.0 document of every served room kind and the bus SSE stream", async () => {
    const doc = await document();
    expect(doc.asyncapi).toBe("3.0.0");
    expect(doc.servers.websocket).toMatchObject({ host: "switchboard.test", protocol: "ws" });
    expect(doc.servers.http).toMatchObject({ host: "switchboard.test", protocol: "http" });
    expect(Object.keys(doc.channels).sort()).toEqual(
      [...Object.keys(ROOM_KINDS), "bus_stream"].sort(),
    );
    for (const kind of Object.keys(ROOM_KINDS)) {
      expect(doc.channels[kind].address).toMatch(new RegExp(`^/ws/${kind}/\\{\\w+\\}$`));
    }
    // The addresses are routes the app really serves.
    const paths = Object.keys((await call("GET", "/openapi.json")).body.paths);
    expect(paths).toContain("/ws/{kind}/{id}");
    expect(paths).toContain(doc.channels.bus_stream.address);
  });

  it.each(KINDS)(
    "%s: every client event, server event and reply is a message of its channel",
    async (kind) => {
      const doc = await document();
      const channel = doc.channels[kind];
      const eventOf = (key: string) =>
        resolve(doc, resolve(doc, channel.messages[key].$ref).payload.$ref);
      for (const event of [...Object.keys(CLIENT_EVENTS[kind]), "auth"]) {
        expect(eventOf(`client.${event}`)?.properties.event.const, event).toBe(event);
        expect(doc.operations[`${kind}.receive.${event}`]?.action, event).toBe("receive");
      }
      for (const event of Object.keys(SERVER_EVENTS[kind])) {
        expect(eventOf(`server.${event}`)?.properties.event.const, event).toBe(event);
        expect(doc.operations[`${kind}.send.${event}`]?.action, event).toBe("send");
      }
      for (const event of Object.keys(CLIENT_REPLIES[kind])) {
        expect(eventOf(`reply.${event}`)?.properties.data, event).toBeDefined();
      }
      // Resume, token lifetime, errors and keepalive are part of every kind.
      for (const key of [
        "server.resync",
        "server.error",
        "server.token_expiring",
        "client.auth",
        "ping",
        "pong",
      ]) {
        expect(channel.messages[key], key).toBeDefined();
      }
      expect(Object.keys(channel.bindings.ws.query.properties)).toContain("token");
    },
  );

  it("poker lists the vote withdrawal and the round timer", async () => {
    const messages = Object.keys((await document()).channels.poker.messages);
    expect(messages).toEqual(
      expect.arrayContaining([
        "client.vote_withdrawn",
        "client.timer_started",
        "client.timer_stopped",
        "server.timer_changed",
      ]),
    );
  });

  it("every example is a frame the protocol's own schemas accept", async () => {
    const doc = await document();
    for (const frame of allFrames()) {
      const message = doc.components.messages[frame.id];
      expect(message.examples.length, frame.id).toBeGreaterThan(0);
      for (const { payload } of message.examples) {
        const parsed = frame.schema.safeParse(payload);
        expect(parsed.success ? [] : parsed.error.issues, frame.id).toEqual([]);
      }
    }
  });

  it("states seq, since, resync, the reply and error frames and every close code", async () => {
    const doc = await document();
    const text = doc.info.description as string;
    for (const word of [
      "`seq`",
      "?since=",
      "`resync`",
      "`request_id`",
      "`error`",
      "`token_expiring`",
      "`auth`",
      "`ping`",
      "4401",
    ]) {
      expect(text, word).toContain(word);
    }
    expect(doc["x-close-codes"]).toEqual(
      Object.entries(CLOSE_CODES).map(([name, c]) => ({ name, ...c })),
    );
    for (const { code } of Object.values(CLOSE_CODES)) expect(text).toContain(`| ${code} |`);
    expect(doc.components.schemas.reply.required).toEqual(["request_id", "status", "errors"]);
    expect(doc.channels.poker.bindings.ws.query.properties.since.type).toBe("integer");
    // Events of the ordered stream say so; the others do not.
    const messages = doc.components.messages;
    expect(messages["poker.server.story_changed"].description).toContain("`seq`");
    expect(messages["threads.server.message_created_or_updated"].description).toContain("?since=");
    expect(messages["poker.server.participants_changed"].description).toBeUndefined();
    expect(messages["threads.server.thread_someone_is_writing"].description).toBeUndefined();
  });
});

describe("/docs shows it", () => {
  it("links the AsyncAPI view from the OpenAPI reference", async () => {
    const res = await call("GET", "/docs");
    expect(res.body).toContain('href="/docs/asyncapi"');
    expect(res.body).toContain('href="/asyncapi.json"');
    expect(res.body).toContain("docs/PROTOCOL.md");
  });

  it("renders every channel and message on the server, with no script or inline style", async () => {
    const res = await SELF.fetch(`${BASE}/docs/asyncapi`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Security-Policy")).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).not.toMatch(/<script\b|<style\b|\sstyle=|\son[a-z]+=/i);
    const doc = await document();
    for (const channel of Object.values<any>(doc.channels)) {
      expect(html).toContain(`<code>${channel.address}</code>`);
    }
    for (const [id, message] of Object.entries<any>(doc.components.messages)) {
      expect(html, id).toContain(`id="message-${id}"`);
      expect(html).toContain(`<code>${message.title}</code>`);
    }
    expect(html).toContain('<link rel="stylesheet" href="/docs/docs.css">');
    const css = await SELF.fetch(`${BASE}/docs/docs.css`);
    expect(css.headers.get("Content-Type")).toContain("text/css");
  });
});
