import { describe, expect, it } from "vitest";
import { sanitizeHtmlFragment } from "../../../src/platform/sanitize";

describe("HTML sanitiser (runs in workerd)", () => {
  it("removes script, style and iframe elements with their contents", async () => {
    const out = await sanitizeHtmlFragment(
      '<p>a</p><script>alert(1)</script><style>p{color:red}</style><iframe src="https://x"></iframe><p>b</p>',
    );
    expect(out).toBe("<p>a</p><p>b</p>");
  });

  it("removes event handler attributes", async () => {
    const out = await sanitizeHtmlFragment(
      '<img src="x" onerror="alert(1)"><p onclick="x()">hi</p>',
    );
    expect(out).not.toContain("onerror");
    expect(out).not.toContain("onclick");
    expect(out).toBe("<p>hi</p>");
  });

  it("removes javascript: URLs, also when disguised", async () => {
    for (const href of [
      "javascript:alert(1)",
      "JaVaScRiPt:alert(1)",
      " javascript:x",
      "java&#x09;script:x",
    ]) {
      const out = await sanitizeHtmlFragment(`<a href="${href}">x</a>`);
      expect(out.toLowerCase()).not.toContain("javascript");
      expect(out).toContain(">x</a>");
    }
  });

  it("keeps basic formatting, links and lists", async () => {
    const html =
      '<p><strong>Bold</strong> and <em>em</em></p><ul><li>one</li></ul><ol><li>two</li></ol><a href="https://example.com/a" title="t">link</a>';
    const out = await sanitizeHtmlFragment(html);
    expect(out).toContain("<p><strong>Bold</strong> and <em>em</em></p>");
    expect(out).toContain("<ul><li>one</li></ul><ol><li>two</li></ol>");
    expect(out).toContain('href="https://example.com/a"');
    expect(out).toContain('rel="noopener noreferrer nofollow"');
  });

  it("drops inline styles and is idempotent", async () => {
    const once = await sanitizeHtmlFragment('<p style="background:url(javascript:x)">t</p>');
    expect(once).toBe("<p>t</p>");
    expect(await sanitizeHtmlFragment(once)).toBe(once);
  });
});

describe("HTML sanitiser: contract §3 descriptions", () => {
  const cases: [string, string, string][] = [
    ["keeps a stray < and > as text", "<p>a < b and c > d</p>", "<p>a &lt; b and c &gt; d</p>"],
    ["escapes plain text", "a < b and c > d", "a &lt; b and c &gt; d"],
    ["keeps plain text line breaks", "one\ntwo\r\nthree & more", "one<br>two<br>three &amp; more"],
    [
      "keeps character references, escapes a stray &",
      "<p>Tom &amp; Jerry & co &#169;</p>",
      "<p>Tom &amp; Jerry &amp; co &#169;</p>",
    ],
    [
      "opens links in a new tab without a handle on the page",
      '<a href="https://example.com/?a=1&b=2" target="_self" rel="opener">x</a>',
      '<a href="https://example.com/?a=1&amp;b=2" target="_blank" rel="noopener noreferrer nofollow">x</a>',
    ],
    [
      "drops object, embed, svg, math, noscript and template with their content",
      "<p>a</p><object>o</object><embed src=x><svg><a>s</a></svg><math>m</math><noscript>n</noscript><template>t</template><p>b</p>",
      "<p>a</p><p>b</p>",
    ],
    [
      "keeps the text of unknown elements, drops comments, ids, classes and doctypes",
      '<!DOCTYPE html><section id="x" class="y"><p>t<!-- secret --></p></section>',
      "<p>t</p>",
    ],
    [
      "keeps headings, code, quotes and tables with numeric spans only",
      '<h2>H</h2><pre><code>x</code></pre><blockquote>q</blockquote><table><tr><td colspan="2" rowspan="y">c</td></tr></table>',
      '<h2>H</h2><pre><code>x</code></pre><blockquote>q</blockquote><table><tr><td colspan="2">c</td></tr></table>',
    ],
  ];
  for (const [what, input, expected] of cases) {
    it(what, async () => {
      const out = await sanitizeHtmlFragment(input);
      expect(out).toBe(expected);
      expect(await sanitizeHtmlFragment(out)).toBe(out);
    });
  }

  it("drops javascript:, data: and vbscript: links however they are disguised", async () => {
    for (const href of [
      "data:text/html;base64,PHNjcmlwdD4=",
      "vbscript:msgbox(1)",
      "VBScript:x",
      "&#106;avascript:x",
      "&#x6A;avascript:x",
      "javascript&colon;x",
      "java&Tab;script:x",
      "java&NewLine;script:x",
      "\u0001javascript:x",
      "jav\tascript:x",
      "javascript&#58x",
      "&#0000106avascript:x",
      "jav&#x0;ascript:x",
    ]) {
      const out = await sanitizeHtmlFragment(`<a href="${href}">x</a>`);
      expect(out, href).toBe('<a target="_blank" rel="noopener noreferrer nofollow">x</a>');
    }
    for (const href of [
      "https://a.example/x",
      "mailto:a@example.com",
      "tel:+1",
      "/poker/",
      "#s",
      "docs/x",
    ]) {
      const out = await sanitizeHtmlFragment(`<a href="${href}">x</a>`);
      expect(out, href).toContain(`href="${href}"`);
    }
  });
});
