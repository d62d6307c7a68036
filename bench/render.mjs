#!/usr/bin/env node
/** Re-renders <name>.md and <name>.svg from <name>.json: node bench/render.mjs [bench/results/latest.json] */
import { readFile, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { renderMarkdown, renderSvg } from "./lib/report.mjs";

const file = process.argv[2] ?? new URL("results/latest.json", import.meta.url).pathname;
const results = JSON.parse(await readFile(file, "utf8"));
// Older files stored the room-size section under "roomsize".
if (results.roomsize && !results.roomSize) {
  results.roomSize = results.roomsize;
  delete results.roomsize;
  await writeFile(file, JSON.stringify(results, null, 2));
}
const stem = file.replace(/\.json$/, "");
await writeFile(`${stem}.md`, renderMarkdown(results, `${basename(stem)}.svg`));
await writeFile(`${stem}.svg`, renderSvg(results));
console.log(`wrote ${stem}.md, ${stem}.svg`);
