export * from "./api-error";
export * from "./bus";
export * from "./poker";
export * from "./room-client";
export * from "./state";
export * from "./state-client";
export * from "./threads";
