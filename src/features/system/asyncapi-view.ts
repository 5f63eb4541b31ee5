import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { escapeHtml } from "../../platform/html";

/**
 * `/docs/asyncapi`: the AsyncAPI document rendered on the server as plain HTML (channels, their
 * messages with summary, example and JSON Schema, the close codes). No script at all, so it
 * needs nothing vendored and keeps the pages' CSP; it reads only the document it is given, so
 * it shows exactly what `/asyncapi.json` says.
 */

type Json = Record<string, unknown>;
type Markup = HtmlEscapedString | Promise<HtmlEscapedString>;

interface Message {
  name: string;
  title: string;
  summary: string;
  description?: string;
  contentType: string;
  payload: Json;
  examples: { name: string; payload: unknown }[];
}

interface CloseCode {
  code: number;
  name: string;
  reconnect: boolean;
  meaning: string;
}

/** Escapes `text`, then shows its `code spans` as code (the only markup the notes use). */
function prose(text: string): HtmlEscapedString | Promise<HtmlEscapedString> {
  return raw(escapeHtml(text).replace(/`([^`]+)`/g, "<code>$1</code>"));
}

const pretty = (value: unknown) => JSON.stringify(value, null, 2);

function refName(ref: unknown): string | undefined {
  return typeof ref === "string" ? ref.split("/").pop() : undefined;
}

/** The payload as stored, with each reference to a named schema linking to it below. */
function schemaBlock(schema: unknown): Markup {
  const linked = escapeHtml(pretty(schema)).replace(
    /(&quot;\$ref&quot;: &quot;)#\/components\/schemas\/([\w.-]+)(&quot;)/g,
    '$1<a href="#schema-$2">#/components/schemas/$2</a>$3',
  );
  return html`<pre>${raw(linked)}</pre>`;
}

function messageBlock(id: string, message: Message, schemas: Json): Markup {
  const payload = refName(message.payload.$ref);
  return html`<article id="message-${id}">
  <h4><code>${message.title}</code></h4>
  <p>${prose(message.summary)}</p>
  ${message.description ? html`<p class="note">${prose(message.description)}</p>` : ""}
  ${message.examples.map(
    (e) => html`<details><summary>Example: ${e.name}</summary>
  <pre>${typeof e.payload === "string" ? e.payload : pretty(e.payload)}</pre></details>`,
  )}
  <details><summary>Payload schema (${message.contentType})</summary>
  ${schemaBlock(payload ? schemas[payload] : message.payload)}</details>
</article>`;
}

/** A channel's messages by their key: `client.<event>`, `server.<event>`, replies, ping/pong. */
const GROUPS: readonly [title: string, matches: (key: string) => boolean][] = [
  ["Client → server", (key) => key.startsWith("client.")],
  ["Server → client", (key) => key.startsWith("server.")],
  ["Replies", (key) => key.startsWith("reply")],
  ["Text frames", (key) => key === "ping" || key === "pong"],
];

function channelBlock(key: string, channel: Json, messages: Json, schemas: Json): Markup {
  const own = Object.entries(channel.messages as Record<string, { $ref: string }>).map(
    ([name, ref]) => {
      const id = refName(ref.$ref) as string;
      return { name, id, message: messages[id] as Message };
    },
  );
  const query = (channel.bindings as { ws?: { query?: Json } } | undefined)?.ws?.query;
  const params = Object.entries((channel.parameters ?? {}) as Record<string, Json>);
  return html`<section id="channel-${key}">
  <h2><code>${channel.address as string}</code></h2>
  <p>${prose((channel.summary as string) ?? "")}</p>
  ${channel.description ? html`<p>${prose(channel.description as string)}</p>` : ""}
  <ul>
    ${params.map(
      ([name, p]) => html`<li><code>{${name}}</code>: ${prose(p.description as string)}</li>`,
    )}
    ${Object.entries((query?.properties ?? {}) as Record<string, Json>).map(
      ([name, q]) =>
        html`<li><code>?${name}=</code>: ${prose((q.description as string) ?? "")}</li>`,
    )}
  </ul>
  ${GROUPS.map(([title, matches]) => {
    const group = own.filter((m) => matches(m.name));
    return group.length
      ? html`<h3>${title}</h3>
  ${group.map((m) => messageBlock(m.id, m.message, schemas))}`
      : "";
  })}
</section>`;
}

export function renderAsyncApiPage(doc: Json): Markup {
  const info = doc.info as { title: string; version: string; description: string };
  const components = doc.components as { messages: Json; schemas: Json };
  const channels = Object.entries(doc.channels as Record<string, Json>);
  const closeCodes = doc["x-close-codes"] as CloseCode[];
  const named = Object.keys(components.schemas).filter((id) => /^[A-Z]/.test(id));
  const sections = info.description.split(/\n\n(?=## )/);
  return html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${info.title}: AsyncAPI</title>
  <link rel="stylesheet" href="/docs/docs.css">
</head>
<body class="asyncapi">
${raw(docsNav("asyncapi"))}
<main>
  <h1>${info.title} <small>AsyncAPI ${doc.asyncapi as string}, version ${info.version}</small></h1>
  <p>${prose(sections[0] ?? "")} The machine-readable document is <a href="/asyncapi.json">/asyncapi.json</a>.</p>
  <nav aria-label="Channels"><ul>${channels.map(
    ([key, c]) => html`<li><a href="#channel-${key}"><code>${c.address as string}</code></a></li>`,
  )}</ul></nav>
  ${sections
    .slice(1)
    .filter((s) => !s.startsWith("## Close codes"))
    .map((s) => {
      const [heading, ...text] = s.split("\n\n");
      return html`<section><h2>${heading?.replace(/^## /, "")}</h2><p>${prose(text.join(" "))}</p></section>`;
    })}
  <section id="close-codes"><h2>Close codes</h2>
  <table><thead><tr><th>code</th><th>name</th><th>meaning</th><th>a client</th></tr></thead><tbody>
  ${closeCodes.map(
    (c) =>
      html`<tr><td>${c.code}</td><td><code>${c.name}</code></td><td>${c.meaning}</td><td>${c.reconnect ? "reconnects" : "stops"}</td></tr>`,
  )}
  </tbody></table></section>
  ${channels.map(([key, c]) => channelBlock(key, c, components.messages, components.schemas))}
  <section id="schemas"><h2>Named schemas</h2>
  ${named.map(
    (id) =>
      html`<article id="schema-${id}"><h4><code>${id}</code></h4>${schemaBlock(components.schemas[id])}</article>`,
  )}
  </section>
</main>
</body>
</html>`;
}

/** The tabs of `/docs`: the HTTP reference, this page, both documents and the prose guide. */
export function docsNav(current: "openapi" | "asyncapi"): string {
  const tab = (id: string, href: string, label: string) =>
    `<a href="${href}"${id === current ? ' aria-current="page"' : ""}>${label}</a>`;
  return `<nav class="docs-nav" aria-label="API reference">
  ${tab("openapi", "/docs", "HTTP API (OpenAPI)")}
  ${tab("asyncapi", "/docs/asyncapi", "WebSocket and SSE (AsyncAPI)")}
  <a href="/openapi.json">openapi.json</a>
  <a href="/asyncapi.json">asyncapi.json</a>
  <span>The protocol in prose, with worked examples: <code>docs/PROTOCOL.md</code> in the repository</span>
</nav>`;
}

/** The one stylesheet of the docs pages (served as a file: the CSP allows no inline style). */
export const DOCS_CSS = `
.docs-nav { display: flex; flex-wrap: wrap; gap: 1rem; align-items: baseline; padding: .75rem 1.25rem;
  background: #1b1f24; color: #d0d7de; font: 14px/1.4 system-ui, sans-serif; }
.docs-nav a { color: #fff; text-decoration: none; }
.docs-nav a[aria-current="page"] { border-bottom: 2px solid #7ee787; }
.docs-nav span { margin-left: auto; }
.docs-nav code { background: none; color: #fff; }
body { margin: 0; }
.asyncapi main { max-width: 70rem; margin: 0 auto; padding: 1rem 1.25rem 4rem;
  font: 15px/1.5 system-ui, sans-serif; color: #1f2328; }
.asyncapi h1 small { font-size: .55em; color: #59636e; font-weight: normal; }
.asyncapi section { border-top: 1px solid #d0d7de; margin-top: 1.5rem; }
.asyncapi article { margin: .75rem 0 1.25rem; padding-left: .75rem; border-left: 3px solid #d0d7de; }
.asyncapi h4 { margin: .25rem 0; }
.asyncapi pre { background: #f6f8fa; padding: .75rem; overflow-x: auto; font-size: 13px; }
.asyncapi code { background: #f6f8fa; padding: 0 .2em; }
.asyncapi table { border-collapse: collapse; }
.asyncapi th, .asyncapi td { border: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left; vertical-align: top; }
.asyncapi summary { cursor: pointer; color: #0969da; }
.asyncapi .note { color: #59636e; font-size: .9em; }
`;
