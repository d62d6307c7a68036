import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
  // The search index (migrations/0004_search.sql) is an FTS5 virtual table with shadow tables
  // messages_fts_data, _idx, _docsize and _config, none of them in schema.ts: without this,
  // push and pull would see them as strays and offer to drop them.
  tablesFilter: ["!messages_fts*"],
});
