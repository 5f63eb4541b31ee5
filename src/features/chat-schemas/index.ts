/** The public entry of the chat-schemas feature: other features import only this file (docs/ARCHITECTURE.md, "Layering"). */
export * from "./answer-input";
export * from "./model";
export * from "./navigation";
export * from "./queries";
export * from "./question-types";
export * from "./rules";
export * from "./schema";
export * from "./settings";
export * from "./template";
