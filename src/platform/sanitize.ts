/**
 * Sanitises user HTML (poker story descriptions) with the runtime's own HTML tokenizer
 * (`HTMLRewriter`, lol-html: the HTML spec's tokenizer, so it splits tags exactly where a browser
 * would) and an allowlist:
 *
 * - Elements not listed are removed and their text kept; `DROPPED_WITH_CONTENT` ones (scripts,
 *   styles, frames, plugins, forms' text boxes, SVG/MathML) go with everything inside them.
 * - Every attribute not listed goes (so `on*` handlers, `style`, `id`, `class`); kept values are
 *   re-escaped. `href` keeps only http(s), mailto, tel and scheme-less links, judged after
 *   decoding character references and dropping the whitespace and control characters browsers
 *   ignore, so `JaVaScRiPt:`, `java&#x09;script:` or `&#106;avascript:` are caught too.
 * - Links open in a new tab without a handle on the page: `target="_blank"`
 *   `rel="noopener noreferrer nofollow"`.
 * - No text is lost: a `<` or `>` that is not part of a tag, and a `&` that starts no character
 *   reference, are kept as text (`&lt;`, `&gt;`, `&amp;`). Comments and doctypes are dropped.
 * - Input without any tag is plain text: escaped, its line breaks kept as `<br>`. Character
 *   references in it (`&amp;`) stay references, as in HTML, so the result is stable.
 *
 * The result is stable: sanitising it again changes nothing.
 */
export async function sanitizeHtmlFragment(input: string): Promise<string> {
  if (!TAG_START.test(input)) return plainText(input);
  let text = "";
  const rewriter = new HTMLRewriter().on("*", { element: cleanElement }).onDocument({
    doctype: (doctype) => (doctype as Doctype & { remove?: () => void }).remove?.(),
    comments: (comment) => {
      comment.remove();
    },
    text: (chunk) => {
      // A text node can come in several chunks (split at a would-be tag): escape it whole.
      text += chunk.text;
      if (!chunk.lastInTextNode) {
        chunk.remove();
        return;
      }
      chunk.replace(escapeText(text), { html: true });
      text = "";
    },
  });
  const html = await rewriter.transform(new Response(input)).text();
  return html.replace(DOCTYPE, "");
}

/** Something a browser would read as markup: a tag, an end tag, a comment or a doctype. */
const TAG_START = /<[a-zA-Z/!?]/;
const DOCTYPE = /^\s*<!doctype[^>]*>/i;

/** Allowed elements and the attributes each keeps. */
const ALLOWED: Record<string, readonly string[]> = {
  a: ["href", "title"],
  th: ["colspan", "rowspan"],
  td: ["colspan", "rowspan"],
  ...Object.fromEntries(
    (
      "p br hr strong b em i u s del ins mark small sub sup code pre blockquote ul ol li " +
      "h1 h2 h3 h4 h5 h6 span div table caption thead tbody tfoot tr"
    )
      .split(" ")
      .map((tag) => [tag, []]),
  ),
};

/** Elements whose content is code, a document of its own, or a form control's value. */
const DROPPED_WITH_CONTENT = new Set(
  (
    "script style iframe frame frameset object embed applet noscript noembed noframes template " +
    "textarea select option title head xmp plaintext svg math canvas audio video"
  ).split(" "),
);

const SAFE_SCHEMES = new Set(["http", "https", "mailto", "tel"]);

function cleanElement(el: Element): void {
  const tag = el.tagName.toLowerCase();
  const keep = Object.hasOwn(ALLOWED, tag) ? ALLOWED[tag] : undefined;
  if (!keep) {
    if (DROPPED_WITH_CONTENT.has(tag)) el.remove();
    else el.removeAndKeepContent();
    return;
  }
  for (const [name = ""] of [...el.attributes]) {
    const value = el.getAttribute(name) ?? "";
    if (!keep.includes(name) || !attributeAllowed(name, value)) {
      el.removeAttribute(name);
    } else {
      el.setAttribute(name, escapeAttribute(value));
    }
  }
  if (tag === "a") {
    el.setAttribute("target", "_blank");
    el.setAttribute("rel", "noopener noreferrer nofollow");
  }
}

function attributeAllowed(name: string, raw: string): boolean {
  if (name === "href") return safeHref(raw);
  if (name === "colspan" || name === "rowspan") return /^\s*\d{1,3}\s*$/.test(raw);
  return true;
}

/** An href a browser would not run: http(s), mailto, tel, or a link with no scheme at all. */
export function safeHref(raw: string): boolean {
  const url = decodeReferences(raw)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: browsers drop these from URLs
    .replace(/[\u0000-\u0020\u007f-\u00a0\ufffd]/g, "")
    .toLowerCase();
  const beforePath = url.split(/[/?#]/, 1)[0] ?? "";
  const colon = beforePath.indexOf(":");
  if (colon < 0) return !beforePath.includes("&");
  return SAFE_SCHEMES.has(beforePath.slice(0, colon));
}

const NAMED: Record<string, string> = {
  colon: ":",
  tab: "\t",
  newline: "\n",
  amp: "&",
  quot: '"',
  apos: "'",
  lt: "<",
  gt: ">",
  sol: "/",
  lpar: "(",
  rpar: ")",
  period: ".",
  nbsp: "\u00a0",
};

/** Decodes numeric references and the named ones that can spell a URL scheme. */
function decodeReferences(text: string): string {
  return text
    .replace(/&#x([0-9a-f]{1,6});?/gi, (_m, hex: string) => codePoint(Number.parseInt(hex, 16)))
    .replace(/&#(\d{1,7});?/g, (_m, dec: string) => codePoint(Number(dec)))
    .replace(/&([a-z]+);/gi, (m, name: string) => NAMED[name.toLowerCase()] ?? m);
}

function codePoint(n: number): string {
  return n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : "\ufffd";
}

/** A `&` that starts a character reference stays one; any other `&`, `<`, `>` becomes text. */
const STRAY = /&(?!#\d{1,7};|#x[0-9a-f]{1,6};|[a-z][a-z0-9]{1,31};)|[<>]/gi;

function escapeText(text: string): string {
  return text.replace(STRAY, (c) => (c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&amp;"));
}

function escapeAttribute(value: string): string {
  return escapeText(value).replaceAll('"', "&quot;");
}

/** Text without tags, as HTML: escaped, line breaks kept. */
function plainText(text: string): string {
  return escapeText(text).replace(/\r\n|\r|\n/g, "<br>");
}
