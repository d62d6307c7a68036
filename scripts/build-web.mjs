// Builds the web app: web/main.ts (+ the CSS it imports) → public/app.js and public/app.css,
// and web/index.html → public/index.html with content hashes in the asset URLs so a new
// deploy is never served from a stale browser cache. public/ is entirely build output.
// Run by wrangler's [build] command before `wrangler dev` and `wrangler deploy`.
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = `${root}public`;
const started = performance.now();

await mkdir(out, { recursive: true });

const result = await build({
  entryPoints: { app: `${root}web/main.ts` },
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2022", "chrome111", "firefox113", "safari16.4"],
  minify: true,
  sourcemap: "linked",
  outdir: out,
  legalComments: "none",
  logLevel: "warning",
  write: false,
});

const hashes = {};
for (const file of result.outputFiles) {
  const ext = file.path.split(".").pop();
  if (ext === "js" || ext === "css") hashes[ext] = createHash("sha256").update(file.contents).digest("hex").slice(0, 12);
}
const html = (await readFile(`${root}web/index.html`, "utf8"))
  .replace("%JS_HASH%", hashes.js ?? "")
  .replace("%CSS_HASH%", hashes.css ?? "");

// Replace files atomically and only then drop stale ones: a running `wrangler dev` serves
// this directory while we rebuild, and must never see a missing or half-written file.
const files = [...result.outputFiles.map((f) => [f.path, f.contents]), [`${out}/index.html`, html]];
for (const [path, contents] of files) {
  await writeFile(`${path}.tmp`, contents);
  await rename(`${path}.tmp`, path);
}
const written = new Set(files.map(([path]) => path.slice(out.length + 1)));
for (const name of await readdir(out)) {
  if (!written.has(name) && !name.endsWith(".tmp")) await rm(`${out}/${name}`, { recursive: true, force: true });
}

const sizes = result.outputFiles
  .filter((f) => !f.path.endsWith(".map"))
  .map((f) => `${f.path.slice(out.length + 1)} ${(f.contents.byteLength / 1024).toFixed(1)} KiB`);
console.log(`build-web: ${sizes.join(", ")} in ${Math.round(performance.now() - started)} ms`);
