/**
 * What the search index costs a flush: upserts of N rows at a time into local D1, exactly as
 * the flush writes them (one INSERT … SELECT FROM json_each(?) ON CONFLICT (id) DO UPDATE),
 * with the index triggers of migrations/0004_search.sql on and off, interleaved round by round
 * on one database so growth and disk affect both alike.
 *
 *   node bench/search-index.mjs [--rows 2000] [--rounds 10]
 *
 * Prints rows/s per round and the medians; "on / off" is the share of today's flush speed
 * that remains with the index (the issue asks for at least 70 %).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getPlatformProxy } from "wrangler";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const ROWS = arg("rows", 2000);
const ROUNDS = arg("rounds", 10);

const dir = mkdtempSync(join(tmpdir(), "search-index-"));
process.env.WRANGLER_SEND_METRICS = "false";
execFileSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", dir], { stdio: "ignore" });
const proxy = await getPlatformProxy({ persist: { path: join(dir, "v3") } });
const db = proxy.env.DB;

// The trigger statements, taken from the migration itself so this measures what ships.
const triggers = readFileSync(new URL("../migrations/0004_search.sql", import.meta.url), "utf8")
  .split("--> statement-breakpoint")
  .map((s) => s.replace(/^\s*--.*$/gm, "").trim())
  .filter((s) => s.startsWith("CREATE TRIGGER"));
const triggerNames = triggers.map((s) => s.match(/CREATE TRIGGER `([^`]+)`/)[1]);

async function setIndex(on) {
  for (const name of triggerNames) await db.prepare(`DROP TRIGGER IF EXISTS ${name}`).run();
  if (on) for (const s of triggers) await db.prepare(s).run();
}

// Chat-like text: 3-30 words from a 20,000-word vocabulary, a few common words weighted up.
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const vocabulary = Array.from({ length: 20_000 }, (_, i) => i.toString(36) + "abcdefghij"[i % 10].repeat(1 + (i % 4)));
const common = ["the", "a", "to", "is", "ok", "yes", "deploy", "today", "lunch", "thanks"];
const sentence = () =>
  Array.from({ length: 3 + Math.floor(rand() * 28) }, () =>
    rand() < 0.3 ? common[Math.floor(rand() * common.length)] : vocabulary[Math.floor(rand() ** 2 * vocabulary.length)],
  ).join(" ");

const UPSERT = `
  INSERT INTO messages (id, room_id, seq, client_id, author_id, author_name, text, reply_to_id, created_at, edited_at, deleted_at, reactions, attachments, rev)
  SELECT r ->> 0, ?1, r ->> 1, r ->> 2, r ->> 3, r ->> 4, r ->> 5, NULL, r ->> 6, NULL, NULL, NULL, NULL, 1
  FROM (SELECT value AS r FROM json_each(?2)) WHERE true
  ON CONFLICT (id) DO UPDATE SET text = excluded.text, edited_at = excluded.edited_at, deleted_at = excluded.deleted_at`;

let batchNo = 0;
async function timeUpsert() {
  const room = `bench-${batchNo++}`;
  const at = new Date().toISOString();
  const rows = Array.from({ length: ROWS }, (_, i) => [crypto.randomUUID(), i + 1, `c-${i}`, "alice", "Alice", sentence(), at]);
  const json = JSON.stringify(rows);
  const t = performance.now();
  await db.prepare(UPSERT).bind(room, json).run();
  return ROWS / ((performance.now() - t) / 1000);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = { on: [], off: [] };
try {
  // Warm up both ways once; then alternate which goes first each round.
  for (const on of [true, false]) {
    await setIndex(on);
    await timeUpsert();
  }
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [true, false] : [false, true];
    const line = [];
    for (const on of order) {
      await setIndex(on);
      const rate = await timeUpsert();
      results[on ? "on" : "off"].push(rate);
      line.push(`${on ? "index on " : "index off"} ${Math.round(rate)} rows/s`);
    }
    console.log(`round ${round + 1}: ${line.join(", ")}`);
  }
  const on = median(results.on);
  const off = median(results.off);
  console.log(`\n${ROWS} rows per upsert, ${ROUNDS} rounds, median: on ${Math.round(on)} rows/s, off ${Math.round(off)} rows/s, on / off = ${(on / off * 100).toFixed(0)} %`);
} finally {
  await proxy.dispose();
  rmSync(dir, { recursive: true, force: true });
}
