/** The public entry of the webhooks feature: other features import only this file (docs/ARCHITECTURE.md, "Layering"). */
export * from "./outbox";
export * from "./queries";
export * from "./room-lifecycle";
export * from "./stats";
