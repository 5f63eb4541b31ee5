import type { MemberRow } from "../threads";

/** `frequency_unit` × `frequency_value` after `from`; months keep the day where they can. */
export function addInterval(from: Date, unit: string, value: number): Date {
  const at = new Date(from.getTime());
  switch (unit) {
    case "hours":
      at.setUTCHours(at.getUTCHours() + value);
      break;
    case "days":
      at.setUTCDate(at.getUTCDate() + value);
      break;
    case "weeks":
      at.setUTCDate(at.getUTCDate() + 7 * value);
      break;
    case "months": {
      const day = at.getUTCDate();
      at.setUTCDate(1);
      at.setUTCMonth(at.getUTCMonth() + value);
      const last = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 0)).getUTCDate();
      at.setUTCDate(Math.min(day, last));
      break;
    }
    default:
      throw new Error(`unknown frequency unit '${unit}'`);
  }
  return at;
}

export type RepeatPlan =
  | { kind: "now" }
  | { kind: "at"; at: Date }
  /** `repeat_until` has passed: the repetition is over. */
  | { kind: "over" };

/**
 * When an `on_finish: repeat` member starts again: at once without a frequency, else one
 * interval after it finished, unless that is later than `repeat_until`.
 */
export function planRepeat(
  member: Pick<MemberRow, "frequencyUnit" | "frequencyValue" | "repeatUntil">,
  now: Date,
): RepeatPlan {
  const { frequencyUnit: unit, frequencyValue: value, repeatUntil } = member;
  const until = repeatUntil ? Date.parse(repeatUntil) : null;
  if (until !== null && now.getTime() > until) return { kind: "over" };
  if (!unit || value === null || value === undefined) return { kind: "now" };
  const at = addInterval(now, unit, value);
  if (until !== null && at.getTime() > until) return { kind: "over" };
  return { kind: "at", at };
}
