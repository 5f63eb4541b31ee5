import { Parser } from "@asyncapi/parser";
import { describe, expect, it } from "vitest";
import { asyncApiDocument } from "../../src/features/system/asyncapi";
import { CLIENT_EVENTS, SERVER_EVENTS } from "../../src/protocol";

/**
 * The AsyncAPI document through the official parser (`@asyncapi/parser`: the JSON Schema of
 * the specification plus its Spectral rules). It runs in Node (`vitest.node.config.ts`, part of
 * `npm test`): the parser is a Node library, not meant for workerd. The document is built by the
 * same function the route calls; the Workers tests check that the route serves it.
 */

/**
 * The one diagnostic allowed: an information (not a warning) that AsyncAPI 3.1 exists. The
 * contract asks for an AsyncAPI 3.0 document, so the version stays.
 */
const ALLOWED = new Set(["asyncapi-latest-version"]);

describe("the AsyncAPI document, by the official parser", () => {
  const source = JSON.stringify(asyncApiDocument(new URL("https://switchboard.example/")));

  it("parses with no error and no warning", async () => {
    const { document, diagnostics } = await new Parser().parse(source);
    const found = diagnostics.map((d) => ({
      code: d.code,
      severity: d.severity,
      message: d.message,
      path: d.path.join("/"),
    }));
    expect(found.filter((d) => !ALLOWED.has(String(d.code)))).toEqual([]);
    // Spectral's severities: 0 error, 1 warning, 2 information, 3 hint.
    for (const d of found) expect(d.severity, d.code as string).toBeGreaterThanOrEqual(2);
    expect(document).toBeDefined();
  });

  it("resolves every room kind's events as messages of its channel", async () => {
    const { document } = await new Parser().parse(source);
    if (!document) throw new Error("the document did not parse");
    for (const kind of Object.keys(CLIENT_EVENTS) as (keyof typeof CLIENT_EVENTS)[]) {
      const channel = document.channels().get(kind);
      if (!channel) throw new Error(`no channel ${kind}`);
      expect(channel.address()).toBe(`/ws/${kind}/{${channel.parameters().all()[0]?.id()}}`);
      const names = channel
        .messages()
        .all()
        .map((m) => m.id());
      const expected = [
        ...[...Object.keys(CLIENT_EVENTS[kind]), "auth"].map((e) => `client.${e}`),
        ...Object.keys(SERVER_EVENTS[kind]).map((e) => `server.${e}`),
        "ping",
        "pong",
      ];
      expect(names).toEqual(expect.arrayContaining(expected));
      for (const message of channel.messages().all()) {
        expect(message.hasPayload(), message.id()).toBe(true);
        expect(message.examples().length, message.id()).toBeGreaterThan(0);
      }
    }
    const sse = document.channels().get("bus_stream");
    expect(sse?.address()).toBe("/{db}/bus/stream");
    expect(
      sse
        ?.servers()
        .all()
        .map((s) => s.protocol()),
    ).toEqual(["https"]);
  });
});
