// The Worker bundle's size, and what it is made of, from the metafile a deploy build writes:
//   npx wrangler deploy --dry-run --outdir <dir> --metafile <dir>/meta.json
//   node scripts/bundle-report.mjs <dir>/meta.json [label]
// Prints index.js's size (raw and gzipped) and its largest packages, and exits 1 if something
// that was taken out of it came back: classic zod (its methods keep every check, all 64 locales
// and the JSON Schema code; src/lib/zod.ts), a zod locale other than English, or package.json
// beyond the one string /api/health uses.
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";

const [metafile, label = ""] = process.argv.slice(2);
if (!metafile) throw new Error("usage: node scripts/bundle-report.mjs <meta.json> [label]");
const meta = JSON.parse(await readFile(metafile, "utf8"));
const [outPath, output] = Object.entries(meta.outputs).find(([, o]) => o.entryPoint);
// Output paths are relative to the directory wrangler ran in; index.js sits beside the metafile.
const js = await readFile(join(dirname(metafile), outPath.split("/").at(-1)));

const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
const byPackage = new Map();
const problems = [];
for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
  if (bytesInOutput === 0) continue;
  const pkg = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? (/(^|\/)src\//.test(path) ? "src" : path.replace(/^(\.\.\/)+/, ""));
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + bytesInOutput);
  if (/node_modules\/zod\/v4\/classic\//.test(path)) problems.push(`classic zod: ${path}`);
  const locale = path.match(/node_modules\/zod\/v4\/locales\/([\w-]+)\.js$/)?.[1];
  if (locale && locale !== "en") problems.push(`zod locale ${locale}: ${path}`);
  if (path.endsWith("package.json") && bytesInOutput > 100) problems.push(`${path}: ${bytesInOutput} bytes (only its version is used)`);
}

const top = [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 8);
console.log(`Worker bundle${label ? `, ${label}` : ""}: index.js ${kib(js.byteLength)}, ${kib(gzipSync(js, { level: 9 }).byteLength)} gzipped`);
console.log(`  largest: ${top.map(([p, b]) => `${p} ${kib(b)}`).join(", ")}`);
if (problems.length > 0) {
  const more = problems.length > 10 ? `\n  ...and ${problems.length - 10} more` : "";
  console.error(`The bundle carries what it should not:\n  ${problems.slice(0, 10).join("\n  ")}${more}`);
  process.exit(1);
}
