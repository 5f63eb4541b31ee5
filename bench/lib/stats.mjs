// Percentiles and the min/median/max summary every figure in results.json carries.

/** The p-th percentile (0–100) of an ascending array, nearest rank. */
export function percentile(sorted, p) {
  if (!sorted.length) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function sortNumbers(values) {
  return Float64Array.from(values).sort();
}

/** min / median / max over runs, with the runs themselves. */
export function summarize(runs) {
  const sorted = [...runs].sort((a, b) => a - b);
  return {
    min: sorted[0],
    median: percentile(sorted, 50),
    max: sorted[sorted.length - 1],
    runs,
  };
}

export function round(value, digits = 2) {
  if (!Number.isFinite(value)) return value;
  const abs = Math.abs(value);
  const places = abs >= 1000 ? 0 : abs >= 100 ? 1 : digits;
  return Number(value.toFixed(places));
}

/** `record[key]`, created with `make()` the first time. */
export function slot(record, key, make) {
  if (!Object.hasOwn(record, key)) record[key] = make();
  return record[key];
}
