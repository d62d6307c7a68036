// Builds the web app: web/main.tsx (Preact, JSX through esbuild, + the CSS it imports) →
// public/app.js and public/app.css, web/sw.ts → public/sw.js (the service worker for Web Push:
// served from the root so its scope is the whole app, and never hashed, since browsers look it
// up by name), and web/index.html → public/index.html with content hashes in the asset URLs so a
// new deploy is never served from a stale browser cache. public/ is entirely build output.
// Run by wrangler's [build] command before `wrangler deploy` and `wrangler dev`, and again by
// `wrangler dev` whenever a file in [build] watch_dir changes.
//
// Skips the build when nothing it reads changed since the last one (`--force` builds anyway):
// `wrangler dev` runs the command once on start and once more when its watcher is ready, and
// after every change to the Worker's own sources (in watch_dir so that the Worker is rebuilt:
// with a [build] command wrangler watches nothing else).
//
// Fails when the app's JavaScript (app.js and sw.js) is over JS_BUDGET_GZIP gzipped.
import { createHash } from "node:crypto";
import { access, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build, version as esbuildVersion } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = `${root}public`;
const force = process.argv.includes("--force");
/** The most JavaScript (gzipped) the app may ship: phones on slow networks load all of it. */
const JS_BUDGET_GZIP = 100 * 1024;

/** One digest over the contents of `paths` (a missing file counts as changed). */
async function digestOf(paths) {
  const hash = createHash("sha256").update(esbuildVersion);
  for (const path of [...paths].sort()) {
    hash.update(path);
    hash.update(await readFile(path).catch(() => `missing ${Math.random()}`));
  }
  return hash.digest("hex");
}

/** A stamp's record of a build: what it read and wrote, and a digest of what it read. */
async function upToDate(stampPath) {
  try {
    const stamp = JSON.parse(await readFile(stampPath, "utf8"));
    await Promise.all(stamp.outputs.map((path) => access(path)));
    return stamp.digest === (await digestOf(stamp.inputs)) ? stamp : null;
  } catch {
    return null; // no stamp, or an output is gone: build
  }
}

/** Replaces files atomically: a running `wrangler dev` serves public/ while we rebuild. */
async function writeAtomically(files) {
  for (const [path, contents] of files) {
    await writeFile(`${path}.tmp`, contents);
    await rename(`${path}.tmp`, path);
  }
}

async function buildApp() {
  const started = performance.now();
  /** Not served: outside public/. */
  const STAMP = `${root}.wrangler/build-web.json`;
  const previous = force ? null : await upToDate(STAMP);
  if (previous) return console.log("build-web: up to date");
  const last = JSON.parse(await readFile(STAMP, "utf8").catch(() => '{"outputs":[]}'));

  await mkdir(out, { recursive: true });
  const result = await build({
    entryPoints: { app: `${root}web/main.tsx`, sw: `${root}web/sw.ts` },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022", "chrome111", "firefox113", "safari16.4"],
    jsx: "automatic",
    jsxImportSource: "preact",
    minify: true,
    sourcemap: "linked",
    outdir: out,
    legalComments: "none",
    logLevel: "warning",
    write: false,
    metafile: true,
    absWorkingDir: root,
  });

  const name = (file) => file.path.slice(out.length + 1);
  const hashOf = (n) => {
    const file = result.outputFiles.find((f) => name(f) === n);
    return file ? createHash("sha256").update(file.contents).digest("hex").slice(0, 12) : "";
  };
  const html = (await readFile(`${root}web/index.html`, "utf8"))
    .replace("%JS_HASH%", hashOf("app.js"))
    .replace("%CSS_HASH%", hashOf("app.css"));

  const scripts = result.outputFiles.filter((f) => f.path.endsWith(".js"));
  const gzipped = scripts.reduce((sum, f) => sum + gzipSync(f.contents, { level: 9 }).byteLength, 0);
  const sizes = result.outputFiles
    .filter((f) => !f.path.endsWith(".map"))
    .map((f) => `${name(f)} ${kib(f.contents.byteLength)}${f.path.endsWith(".js") ? ` (${kib(gzipSync(f.contents, { level: 9 }).byteLength)} gzipped)` : ""}`);
  console.log(`build-web: ${sizes.join(", ")} in ${Math.round(performance.now() - started)} ms`);
  console.log(`build-web: JavaScript ${kib(gzipped)} gzipped of ${kib(JS_BUDGET_GZIP)} allowed`);
  if (gzipped > JS_BUDGET_GZIP) {
    // Nothing is written: the previous build keeps being served.
    console.error(`build-web: the app's JavaScript is ${kib(gzipped)} gzipped, over the ${kib(JS_BUDGET_GZIP)} budget`);
    process.exit(1);
  }

  const files = [...result.outputFiles.map((f) => [f.path, f.contents]), [`${out}/index.html`, html]];
  await writeAtomically(files);
  // Only now drop what the last build wrote and this one did not (files others write into
  // public/ are left alone).
  const written = new Set(files.map(([path]) => path));
  for (const path of last.outputs) if (!written.has(path)) await rm(path, { force: true });

  const inputs = [
    ...Object.keys(result.metafile.inputs).map((path) => resolve(root, path)),
    `${root}web/index.html`,
    fileURLToPath(import.meta.url),
  ];
  await mkdir(`${root}.wrangler`, { recursive: true });
  await writeFile(STAMP, JSON.stringify({ inputs, outputs: files.map(([path]) => path), digest: await digestOf(inputs) }));
}

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

await buildApp();
// public/widget.js, the visitor widget: built on every run (it is small), after the app so the
// app's clean-up of its own stale files has happened.
await import("./build-widget.mjs");
