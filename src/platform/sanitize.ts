import type * as XSS from "xss";
import xss from "xss";

// A CommonJS package: workerd's test runner exposes only `module.exports` as the default export,
// which carries every named export as a property (its typings declare them as named exports).
const { FilterXSS, safeAttrValue } = xss as unknown as typeof XSS;

/** Tags users may send (story descriptions, thread texts) and the attributes each keeps. */
const ALLOWED: Record<string, string[]> = {
  a: ["href", "title"],
  th: ["colspan", "rowspan"],
  td: ["colspan", "rowspan"],
  ...Object.fromEntries(
    [
      "p",
      "br",
      "hr",
      "strong",
      "b",
      "em",
      "i",
      "u",
      "s",
      "del",
      "ins",
      "mark",
      "small",
      "sub",
      "sup",
      "code",
      "pre",
      "blockquote",
      "ul",
      "ol",
      "li",
      "h1",
      "h2",
      "h3",
      "h4",
      "h5",
      "h6",
      "span",
      "div",
      "table",
      "thead",
      "tbody",
      "tr",
    ].map((tag) => [tag, []]),
  ),
};

/** Link targets we keep; anything else (`javascript:`, `data:`, `vbscript:`...) drops the href. */
const SAFE_HREF = /^(https?:|mailto:|tel:|\/(?!\/)|#)/i;

/**
 * js-xss (a maintained whitelist sanitiser that runs in workerd without Node APIs).
 * Tags not listed are removed (their text stays); `script`, `style`, `iframe` and similar lose
 * their contents too; every attribute not listed goes, so `on*` handlers and inline styles do.
 */
const filter = new FilterXSS({
  whiteList: ALLOWED,
  stripIgnoreTag: true,
  stripIgnoreTagBody: ["script", "style", "iframe", "noscript", "template", "textarea", "object"],
  allowCommentTag: false,
  css: false,
  safeAttrValue(tag, name, value, cssFilter) {
    const safe = safeAttrValue(tag, name, value, cssFilter);
    if (tag === "a" && name === "href") return SAFE_HREF.test(safe.trim()) ? safe.trim() : "";
    return safe;
  },
});

/** Sanitises untrusted HTML for display; idempotent on its own output. */
export function sanitizeHtmlFragment(html: string): string {
  // After filtering, `<a` only starts real tags (text `<` is escapes). Links leave the page:
  // never give the target a handle on it.
  return filter.process(html).replace(/<a(?=[\s>])/g, '<a rel="noopener noreferrer nofollow"');
}
