import { escapeHtml } from "../../platform/html";

export { escapeHtml };

/** The exact inverse of `escapeHtml` (one pass, so `&amp;lt;` becomes `&lt;`). */
export function unescapeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#x27|#39);/g, (_all, name: string) => {
    switch (name) {
      case "amp":
        return "&";
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "quot":
        return '"';
      default:
        return "'";
    }
  });
}
