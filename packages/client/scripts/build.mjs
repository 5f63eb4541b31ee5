/**
 * Builds `@switchboard/client` from the SDK's one source (`src/client/`, also compiled by the
 * poker page): an ESM bundle with the protocol module inlined (esbuild), and type declarations
 * (tsc) in which the protocol's zod-inferred types are written out as plain types, so neither
 * the JavaScript nor the `.d.ts` needs zod or Workers types in the consumer's project.
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { emitDeclarations } from "./declarations.mjs";

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repo = resolve(pkg, "../..");
const entry = join(repo, "src/client/index.ts");
const dist = join(pkg, "dist");

rmSync(dist, { recursive: true, force: true });

const { metafile } = await build({
  entryPoints: [entry],
  outfile: join(dist, "index.js"),
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2020",
  metafile: true,
  logLevel: "warning",
});
// Everything in the bundle must be the repo's own source: a value import from a protocol file
// that uses zod would pull zod in here.
const foreign = Object.keys(metafile.inputs).filter((input) => input.includes("node_modules"));
if (foreign.length) throw new Error(`The bundle includes dependencies: ${foreign.join(", ")}`);

emitDeclarations({ entry, rootDir: join(repo, "src"), outDir: dist });

// A reference is an import or a types reference; prose in doc comments may still name zod.
const forbidden = /["'](zod|@cloudflare\/workers-types|cloudflare:[a-z]+)["'/]/;
for (const file of listFiles(dist)) {
  const match = readFileSync(file, "utf8").match(forbidden);
  if (match) throw new Error(`${relative(pkg, file)} references ${match[1]}`);
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}
