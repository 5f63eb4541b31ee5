/** The public entry of the bus feature: other features import only this file (docs/ARCHITECTURE.md, "Layering"). */
export * from "./publish";
