import { describe, expect, it } from "vitest";
import { sanitizeHtmlFragment } from "../../../src/platform/sanitize";

describe("HTML sanitiser (runs in workerd)", () => {
  it("removes script, style and iframe elements with their contents", () => {
    const out = sanitizeHtmlFragment(
      '<p>a</p><script>alert(1)</script><style>p{color:red}</style><iframe src="https://x"></iframe><p>b</p>',
    );
    expect(out).toBe("<p>a</p><p>b</p>");
  });

  it("removes event handler attributes", () => {
    const out = sanitizeHtmlFragment('<img src="x" onerror="alert(1)"><p onclick="x()">hi</p>');
    expect(out).not.toContain("onerror");
    expect(out).not.toContain("onclick");
    expect(out).toBe("<p>hi</p>");
  });

  it("removes javascript: URLs, also when disguised", () => {
    for (const href of [
      "javascript:alert(1)",
      "JaVaScRiPt:alert(1)",
      " javascript:x",
      "java&#x09;script:x",
    ]) {
      const out = sanitizeHtmlFragment(`<a href="${href}">x</a>`);
      expect(out.toLowerCase()).not.toContain("javascript");
      expect(out).toContain(">x</a>");
    }
  });

  it("keeps basic formatting, links and lists", () => {
    const html =
      '<p><strong>Bold</strong> and <em>em</em></p><ul><li>one</li></ul><ol><li>two</li></ol><a href="https://example.com/a" title="t">link</a>';
    const out = sanitizeHtmlFragment(html);
    expect(out).toContain("<p><strong>Bold</strong> and <em>em</em></p>");
    expect(out).toContain("<ul><li>one</li></ul><ol><li>two</li></ol>");
    expect(out).toContain('href="https://example.com/a"');
    expect(out).toContain('rel="noopener noreferrer nofollow"');
  });

  it("drops inline styles and is idempotent", () => {
    const once = sanitizeHtmlFragment('<p style="background:url(javascript:x)">t</p>');
    expect(once).toBe("<p>t</p>");
    expect(sanitizeHtmlFragment(once)).toBe(once);
  });
});
