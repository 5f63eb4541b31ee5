import { fillPlaceholders, type Query, type SQL, sql } from "drizzle-orm";
import { getDb } from "../../platform/db";
import * as time from "../../platform/time";
import { eventStatements, type NewEvent } from "./queries";

/**
 * `recordEvents` for events whose uuid and data are plain values (an app's emit): the same
 * statements (`eventStatements`), but drizzle builds their SQL once per binding and shape, with a
 * placeholder for every value, and each event only binds its values. Building three insert-selects
 * per event was the largest share of the emit path's CPU (bench/README.md, "Profiled").
 *
 * The shape is the set of the event's fields that are set: a field an event leaves out is left out
 * of the template too, so whatever `eventStatements` does with an absent field still happens.
 * `eventStatements` must only place the fields' values into SQL, never branch on them.
 */
export interface PlainEvent extends NewEvent {
  uuid: string;
  data: string;
}

/** Per binding, per shape: the statements of one event, each with its placeholders. */
const templates = new WeakMap<D1Database, Map<string, Query[]>>();

function fieldsOf(event: PlainEvent): string[] {
  return Object.entries(event)
    .filter(([, value]) => value !== undefined)
    .map(([key]) => key)
    .sort();
}

/** A placeholder where a value goes, typed as the value it stands for. */
const placeholder = (name: string) => sql.placeholder(name) as unknown as SQL & string & number;

function templatesOf(d1: D1Database, fields: string[]): Query[] {
  let byShape = templates.get(d1);
  if (!byShape) {
    byShape = new Map();
    templates.set(d1, byShape);
  }
  const shape = fields.join(",");
  let statements = byShape.get(shape);
  if (!statements) {
    const event = Object.fromEntries(fields.map((f) => [f, placeholder(f)])) as unknown as NewEvent;
    statements = eventStatements(getDb(d1), event, placeholder("at")).map((s) => s.toSQL());
    byShape.set(shape, statements);
  }
  return statements;
}

/**
 * Records events with their deliveries in one transaction (one D1 round trip), in order, as
 * `recordEvents` does: a uuid seen before, or earlier in `events`, records nothing. Returns each
 * event's new delivery ids.
 */
export async function recordPlainEvents(d1: D1Database, events: PlainEvent[]): Promise<number[][]> {
  if (!events.length) return [];
  const at = time.now();
  const statements = events.flatMap((event) => {
    const values: Record<string, unknown> = { ...event, at };
    return templatesOf(d1, fieldsOf(event)).map((t) =>
      d1.prepare(t.sql).bind(...fillPlaceholders(t.params, values)),
    );
  });
  const perEvent = statements.length / events.length;
  const results = await d1.batch<{ id: number }>(statements);
  return events.map((_, i) => (results[i * perEvent]?.results ?? []).map((row) => row.id));
}
