// Copies Swagger UI from node_modules into public/vendor so /docs works offline and at the edge.
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export function vendorDocs() {
  const require = createRequire(import.meta.url);
  const source = dirname(require.resolve("swagger-ui-dist/package.json"));
  const target = join(ROOT, "public", "vendor", "swagger-ui");
  mkdirSync(target, { recursive: true });
  for (const file of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
    copyFileSync(join(source, file), join(target, file));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) vendorDocs();
