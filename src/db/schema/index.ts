/** Every D1 table, one file per area; drizzle-kit reads `src/db/schema/*.ts`. */
export * from "./chat-schemas";
export * from "./idempotency";
export * from "./keys";
export * from "./poker";
export * from "./state";
export * from "./threads";
export * from "./webhooks";
