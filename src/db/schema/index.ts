/** Every D1 table, one file per area; drizzle-kit reads `src/db/schema/*.ts`. */
export {};
export * from "./state";
export * from "./chat-schemas";
export * from "./webhooks";
export * from "./poker";
export * from "./threads";
