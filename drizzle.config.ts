import { defineConfig } from "drizzle-kit";

// Generates SQL into migrations/ for `wrangler d1 migrations apply`; review every file by hand.
export default defineConfig({
  dialect: "sqlite",
  schema: [
    "./src/platform/**/schema.ts",
    "./src/realtime/schema.ts",
    "./src/features/**/schema.ts",
  ],
  out: "./migrations",
});
