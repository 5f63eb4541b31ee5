import { index, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * State-change subscriptions (contract §5): a person runs flows, a flow has steps.
 * `state` is checked by the REST layer against the allowed states of each entity.
 * Timestamps are ISO 8601 strings, written by the query code.
 */
export const persons = sqliteTable("persons", {
  key: text("key").primaryKey(),
  name: text("name").notNull(),
  createdAt: text("created_at").notNull(),
  updatedAt: text("updated_at").notNull(),
});

export const flowInstances = sqliteTable(
  "flow_instances",
  {
    id: text("id").primaryKey(),
    personKey: text("person_key")
      .notNull()
      .references(() => persons.key),
    identifier: text("identifier").notNull(),
    state: text("state").notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [index("flow_instances_person_idx").on(t.personKey, t.createdAt)],
);

export const stepInstances = sqliteTable(
  "step_instances",
  {
    id: text("id").primaryKey(),
    flowId: text("flow_id")
      .notNull()
      .references(() => flowInstances.id),
    identifier: text("identifier").notNull(),
    state: text("state").notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [index("step_instances_flow_idx").on(t.flowId, t.createdAt)],
);
