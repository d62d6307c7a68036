// Builds the web app: web/main.ts (+ the CSS it imports) → public/app.js and public/app.css,
// and web/index.html → public/index.html with content hashes in the asset URLs so a new
// deploy is never served from a stale browser cache. public/ is entirely build output.
// Run by wrangler's [build] command before `wrangler deploy` and `wrangler dev`, and again by
// `wrangler dev` whenever a file in [build] watch_dir changes.
//
// Skips the build when nothing it reads changed since the last one (`--force` builds anyway):
// `wrangler dev` runs the command once on start and once more when its watcher is ready, and
// after every change to the Worker's own sources (in watch_dir so that the Worker is rebuilt:
// with a [build] command wrangler watches nothing else).
import { createHash } from "node:crypto";
import { access, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, version as esbuildVersion } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = `${root}public`;
/** What the last build read and wrote, and a digest of what it read (not served: outside public/). */
const STAMP = `${root}.wrangler/build-web.json`;
const started = performance.now();

/** One digest over the contents of `paths` (a missing file counts as changed). */
async function digestOf(paths) {
  const hash = createHash("sha256").update(esbuildVersion);
  for (const path of [...paths].sort()) {
    hash.update(path);
    hash.update(await readFile(path).catch(() => `missing ${Math.random()}`));
  }
  return hash.digest("hex");
}

if (!process.argv.includes("--force")) {
  try {
    const stamp = JSON.parse(await readFile(STAMP, "utf8"));
    await Promise.all(stamp.outputs.map((path) => access(path)));
    if (stamp.digest === (await digestOf(stamp.inputs))) {
      console.log("build-web: up to date");
      process.exit(0);
    }
  } catch {
    // no stamp, or an output is gone: build
  }
}

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
  metafile: true,
  absWorkingDir: root,
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

const inputs = [
  ...Object.keys(result.metafile.inputs).map((path) => resolve(root, path)),
  `${root}web/index.html`,
  fileURLToPath(import.meta.url),
];
await mkdir(`${root}.wrangler`, { recursive: true });
await writeFile(STAMP, JSON.stringify({ inputs, outputs: files.map(([path]) => path), digest: await digestOf(inputs) }));

const sizes = result.outputFiles
  .filter((f) => !f.path.endsWith(".map"))
  .map((f) => `${f.path.slice(out.length + 1)} ${(f.contents.byteLength / 1024).toFixed(1)} KiB`);
console.log(`build-web: ${sizes.join(", ")} in ${Math.round(performance.now() - started)} ms`);
import "./build-widget.mjs"; // public/widget.js, the visitor widget: runs before this file and writes on exit (see there)
