export * from "./room-client";
