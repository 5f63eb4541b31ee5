import { escapeHtml } from "../../platform/html";

/**
 * `{{user.name}}`, `{{user.<field>}}`, `{{answers.<qid>}}`, `{{vars.<name>}}`, `{{thread.title}}`
 * in question texts. The template (written by an admin) is kept as it is; every substituted value
 * is HTML-escaped, and anything missing renders as the empty string. There is no expression
 * syntax: a placeholder is a root and one key.
 */
export interface TemplateContext {
  user: Record<string, unknown>;
  answers: Record<string, string>;
  vars: Record<string, unknown>;
  thread: Record<string, unknown>;
}

const PLACEHOLDER = /\{\{\s*(user|answers|vars|thread)\.([A-Za-z0-9_-]{1,64})\s*\}\}/g;

function scalar(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return "";
}

export function renderTemplate(template: string, ctx: TemplateContext): string {
  return template.replace(PLACEHOLDER, (_all, root: keyof TemplateContext, key: string) => {
    const scope = ctx[root] as Record<string, unknown>;
    return escapeHtml(Object.hasOwn(scope, key) ? scalar(scope[key]) : "");
  });
}
