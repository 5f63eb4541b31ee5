import { describe, expect, it } from "vitest";
import { ADMIN, tokenFor } from "../helpers/http";
import { api } from "../helpers/reliability/support";
import { XSS_VECTORS } from "../helpers/reliability/xss-vectors";
import { connect } from "../helpers/ws";

/**
 * Every known XSS vector through the two places users write HTML-ish text: poker story
 * descriptions (sanitised HTML) and thread messages (HTML-escaped text). What comes back, from
 * the create answer, later reads and the socket, is parsed by the runtime's own HTML parser
 * (HTMLRewriter, a browser-grade tokenizer) and must hold nothing executable.
 */

/** Elements that run code, load content or change how the page is read. */
const BANNED_TAGS = new Set(
  "script iframe frame frameset object embed applet style link meta base form input button svg math template textarea xmp noscript img video audio source isindex marquee body details".split(
    " ",
  ),
);
const URL_ATTRIBUTES = new Set(
  "href src action formaction xlink:href data background poster srcdoc lowsrc dynsrc content".split(
    " ",
  ),
);

/** What a browser would read from an attribute value: entities decoded, invisible chars gone. */
function decoded(value: string): string {
  return (
    value
      .replace(/&#x([0-9a-f]+);?/gi, (_m, hex: string) =>
        String.fromCodePoint(Number.parseInt(hex, 16)),
      )
      .replace(/&#(\d+);?/g, (_m, dec: string) => String.fromCodePoint(Number(dec)))
      .replace(/&colon;/gi, ":")
      .replace(/&(tab|newline);/gi, "")
      .replace(/&quot;/gi, '"')
      .replace(/&amp;/gi, "&")
      // biome-ignore lint/suspicious/noControlCharactersInRegex: browsers skip these in URLs
      .replace(/[\u0000-\u0020\u007f-\u00a0]/g, "")
      .toLowerCase()
  );
}

interface Parsed {
  tags: string[];
  problems: string[];
}

async function parse(html: string): Promise<Parsed> {
  const found: Parsed = { tags: [], problems: [] };
  await new HTMLRewriter()
    .on("*", {
      element(el) {
        const tag = el.tagName.toLowerCase();
        found.tags.push(tag);
        if (BANNED_TAGS.has(tag)) found.problems.push(`<${tag}>`);
        for (const [name = "", value = ""] of el.attributes) {
          const attr = name.toLowerCase();
          if (attr.startsWith("on")) found.problems.push(`${tag}[${attr}]`);
          if (attr === "style") found.problems.push(`${tag}[style]`);
          if (URL_ATTRIBUTES.has(attr) && /^(javascript|vbscript|data):/.test(decoded(value))) {
            found.problems.push(`${tag}[${attr}=${value}]`);
          }
        }
      },
    })
    .transform(new Response(html))
    .text();
  if (/<script/i.test(html)) found.problems.push("<script text");
  return found;
}

/** Sanitised HTML: only harmless markup survives. */
async function expectSafeHtml(html: string, vector: string): Promise<void> {
  const { problems } = await parse(html);
  expect(problems, `${vector} → ${html}`).toEqual([]);
}

/** Escaped text: no markup at all survives. */
async function expectInert(text: string, vector: string): Promise<void> {
  const { tags } = await parse(text);
  expect(tags, `${vector} → ${text}`).toEqual([]);
  expect(text, vector).not.toMatch(/[<>]/);
}

describe("XSS through poker story descriptions (sanitised HTML)", () => {
  it(`keeps nothing executable of ${XSS_VECTORS.length} known vectors`, async () => {
    expect(XSS_VECTORS.length).toBeGreaterThanOrEqual(50);
    const session = await api("POST", "/api/poker/sessions", {
      token: ADMIN,
      body: { name: "XSS" },
    });
    const id = session.body.id;
    const moderator = await connect(
      `/ws/poker/${id}`,
      await tokenFor("xss-mod", ["planning_poker.moderate"]),
    );
    for (const vector of XSS_VECTORS) {
      const res = await api("POST", `/api/poker/sessions/${id}/stories`, {
        token: ADMIN,
        body: { story_label: vector.slice(0, 200), description: vector },
      });
      expect(res.status, vector).toBe(201);
      await expectSafeHtml(res.body.description, vector);
    }
    const read = await api("GET", `/api/poker/sessions/${id}`, { token: ADMIN });
    expect(read.body.stories).toHaveLength(XSS_VECTORS.length);
    for (const [i, story] of read.body.stories.entries()) {
      await expectSafeHtml(story.description, XSS_VECTORS[i]!);
    }
    // What sockets receive: `story_added` for each, `story_changed` for the active story.
    for (const vector of XSS_VECTORS) {
      const added = await moderator.event("story_added");
      await expectSafeHtml(added.data.description, vector);
    }
    expect((await moderator.request("next_story_requested", {})).status).toBe(200);
    const changed = await moderator.event("story_changed");
    await expectSafeHtml(changed.data.description, XSS_VECTORS[0]!);
    moderator.close();
  });

  it("keeps harmless formatting and safe links", async () => {
    const session = await api("POST", "/api/poker/sessions", {
      token: ADMIN,
      body: { name: "Fmt" },
    });
    const res = await api("POST", `/api/poker/sessions/${session.body.id}/stories`, {
      token: ADMIN,
      body: {
        story_label: "fmt",
        description:
          '<p>As a <strong>user</strong> see <a href="https://example.com/a?b=1">docs</a></p>',
      },
    });
    expect(res.body.description).toContain("<strong>user</strong>");
    expect(res.body.description).toContain('href="https://example.com/a?b=1"');
  });
});

describe("XSS through thread messages (escaped text)", () => {
  it(`stores, lists and sends every one of ${XSS_VECTORS.length} vectors as inert text`, async () => {
    const member = `xss-${crypto.randomUUID().slice(0, 8)}`;
    const token = await tokenFor(member);
    const thread = await api("POST", "/api/threads", {
      token,
      body: { title: "XSS", type: "chat", members: [] },
    });
    expect(thread.status).toBe(201);
    const id = thread.body.id;
    const ws = await connect(`/ws/threads/${id}`, token);
    const ids: number[] = [];
    for (const vector of XSS_VECTORS) {
      const res = await api("POST", `/api/threads/${id}/messages`, {
        token,
        body: { text: vector },
      });
      expect(res.status, vector).toBe(201);
      await expectInert(res.body.text, vector);
      ids.push(res.body.id);
    }
    for (const [i, messageId] of ids.entries()) {
      const event = await ws.next(
        (f) => f?.event === "message_created_or_updated" && f.data?.message?.id === messageId,
        `the event of message ${messageId}`,
      );
      await expectInert(event.data.message.text, XSS_VECTORS[i]!);
    }
    const list = await api("GET", `/api/threads/${id}/messages?limit=200`, { token });
    expect(list.body.results).toHaveLength(XSS_VECTORS.length);
    for (const message of list.body.results) await expectInert(message.text, String(message.id));
    // Edits are escaped too.
    const edited = await api("PATCH", `/api/threads/${id}/messages/${ids[0]}`, {
      token: ADMIN,
      body: { text: XSS_VECTORS[10] },
    });
    expect(edited.status).toBe(200);
    await expectInert(edited.body.text, XSS_VECTORS[10]!);
    ws.close();
  });

  it("escapes attachment titles and refuses javascript: attachment URLs", async () => {
    const token = await tokenFor(`xss-att-${crypto.randomUUID().slice(0, 8)}`);
    const thread = await api("POST", "/api/threads", {
      token,
      body: { title: "Att", type: "chat", members: [] },
    });
    const post = (attachment: Record<string, unknown>) =>
      api("POST", `/api/threads/${thread.body.id}/messages`, {
        token,
        body: { text: "see", attachments: [attachment] },
      });
    for (const url of [
      "javascript:alert(1)",
      "data:text/html,<script>alert(1)</script>",
      "vbscript:x",
    ]) {
      const refused = await post({ type: "image", url });
      expect(refused.status, url).toBe(400);
    }
    const ok = await post({
      type: "image",
      url: "https://example.com/a.png",
      title: "<img src=x onerror=alert(1)>",
      description: '"><script>alert(1)</script>',
    });
    expect(ok.status).toBe(201);
    const [attachment] = ok.body.attachments_data;
    await expectInert(attachment.title, "title");
    await expectInert(attachment.description, "description");
    expect(attachment.src).toBe("https://example.com/a.png");
  });
});
