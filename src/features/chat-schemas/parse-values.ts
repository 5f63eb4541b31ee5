/** Parsers of typed answers: each returns the canonical text, or null when it does not parse. */

export function parseDate(text: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) {
    return null;
  }
  return text;
}

export function parseTime(text: string): string | null {
  const m = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/.exec(text);
  if (!m) return null;
  return `${m[1]}:${m[2]}:${m[3] ?? "00"}`;
}

/** ISO 8601 date and time with a zone (`Z` or an offset); the canonical form is UTC. */
export function parseDatetime(text: string): string | null {
  const m =
    /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:\d{2})$/i.exec(
      text,
    );
  if (!m || parseDate(m[1] ?? "") === null || parseTime((m[2] ?? "").slice(0, 8)) === null) {
    return null;
  }
  const ms = Date.parse(`${m[1]}T${m[2]}${(m[3] ?? "").toUpperCase()}`);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

export function parseInteger(text: string): number | null {
  if (!/^[+-]?\d{1,15}$/.test(text)) return null;
  return Number(text);
}

export function parseFloatStrict(text: string): number | null {
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

/** Bounds are inclusive; a bound of 0 is a bound (the original's `if not range_from` was not). */
export function withinRange(value: number, from: number | null, to: number | null): boolean {
  if (from !== null && value < from) return false;
  if (to !== null && value > to) return false;
  return true;
}
