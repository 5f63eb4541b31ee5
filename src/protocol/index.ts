/**
 * The wire protocol, one module compiled by the server, the SDK and the poker page. The server
 * imports it from here; the SDK and the page import values only from the files that need no zod
 * (close-codes.ts, base-events.ts, poker-deck.ts) and everything else as types (the REST shapes
 * of poker-rest.ts, threads-rest.ts, surveys-rest.ts and chat-schemas-rest.ts included).
 */
export * from "./answer-refs";
export * from "./base-event-schemas";
export * from "./base-events";
export * from "./batched-frames";
export * from "./bus";
export * from "./chat-schemas-rest";
export * from "./close-codes";
export * from "./events";
export * from "./frames";
export * from "./poker-deck";
export * from "./poker-event-schemas";
export * from "./poker-events";
export * from "./poker-rest";
export * from "./server-events";
export * from "./state";
export * from "./state-event-schemas";
export * from "./surveys-rest";
export * from "./thread-event-schemas";
export * from "./threads";
export * from "./threads-inputs";
export * from "./threads-rest";
