/**
 * The layering rule of docs/ARCHITECTURE.md ("Layering"), checked by `npm run lint`.
 * Every import in src/ must match one `allowed` rule; anything else is a back-edge and an error.
 * A feature reaches another feature only through its public entry (features/<x>/index.ts),
 * and only along the edges of FEATURE_EDGES (no cycles).
 */
const FEATURE_EDGES = {
  bus: ["webhooks"],
  poker: ["webhooks"],
  state: ["webhooks"],
  threads: ["webhooks", "bus"],
  "chat-schemas": ["threads"],
  scripted: ["threads", "chat-schemas"],
  surveys: ["threads", "chat-schemas"],
  webhooks: [],
  identity: [],
  system: [],
  ops: ["webhooks"],
};

const external = [
  "npm",
  "npm-dev",
  "npm-peer",
  "npm-optional",
  "core",
  "npm-no-pkg",
  "npm-unknown",
];
const libs = (names) => ({
  dependencyTypes: external,
  path: `^node_modules/(${names.join("|")})/`,
});

module.exports = {
  allowed: [
    // The composition root wires everything.
    { from: { path: "^src/(index|app|cron|rooms)\\.ts$" }, to: {} },
    // The wire module: itself and zod.
    { from: { path: "^src/protocol/" }, to: { path: "^src/protocol/" } },
    { from: { path: "^src/protocol/" }, to: libs(["zod"]) },
    // Shared layers import down, never up.
    { from: { path: "^src/platform/" }, to: { path: "^src/(platform|protocol)/" } },
    { from: { path: "^src/realtime/" }, to: { path: "^src/(realtime|platform|protocol)/" } },
    { from: { path: "^src/(platform|realtime|features)/" }, to: { dependencyTypes: external } },
    // The Workers runtime's own modules.
    { from: { path: "^src/(platform|realtime|features)/" }, to: { path: "^cloudflare:" } },
    // A feature: its own folder and the shared layers...
    {
      from: { path: "^src/features/([^/]+)/" },
      to: { path: ["^src/features/$1/", "^src/(platform|realtime|protocol)/"] },
    },
    // ...and another feature's public entry along a listed edge.
    ...Object.entries(FEATURE_EDGES)
      .filter(([, to]) => to.length > 0)
      .map(([from, to]) => ({
        from: { path: `^src/features/${from}/` },
        to: { path: `^src/features/(${to.join("|")})/index\\.ts$` },
      })),
    // The SDK is browser/Node code: itself and the protocol (and what the protocol needs).
    { from: { path: "^src/client/" }, to: { path: "^src/(client|protocol)/" } },
    { from: { path: "^src/client/" }, to: libs(["zod"]) },
    // The UI: itself, the SDK and the protocol.
    { from: { path: "^src/ui/" }, to: { path: "^src/(ui|client|protocol)/" } },
    { from: { path: "^src/ui/" }, to: libs(["zod"]) },
  ],
  allowedSeverity: "error",
  forbidden: [
    {
      name: "no-circular-features",
      severity: "error",
      comment:
        "Features form a DAG (FEATURE_EDGES); a cycle between feature folders is a back-edge.",
      from: { path: "^src/features/([^/]+)/" },
      to: { path: "^src/features/", pathNot: "^src/features/$1/", circular: true },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      from: { path: "^src/" },
      to: { couldNotResolve: true, pathNot: "^cloudflare:" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
    exclude: { path: "^src/ui/poker/app\\.js$" },
  },
};
