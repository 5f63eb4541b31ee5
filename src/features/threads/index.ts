/** The public entry of the threads feature: other features import only this file (docs/ARCHITECTURE.md, "Layering"). */
export { AnswerRef, QuestionRef } from "../../protocol/answer-refs";
export * from "./bounds";
export * from "./chat-field-errors";
export * from "./errors";
export * from "./extensions";
export * from "./member-state";
export * from "./queries";
export * from "./schema";
export * from "./service";
