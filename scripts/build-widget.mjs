// Builds the visitor widget: web/widget/main.ts (+ its CSS, inlined as a string for its shadow
// root) → public/widget.js, one classic script (an IIFE, not a module: a plain <script src> on
// another site loads it without CORS, and it can read its own tag). Prints its gzipped size.
//
// Run on its own (`node scripts/build-widget.mjs`) or through scripts/build-web.mjs, which
// imports it after building the app.
import { renameSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { build, transform } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const target = `${root}public/widget.js`;
const started = performance.now();

/** CSS files become minified strings, for the shadow root's style sheet. */
const cssAsText = {
  name: "css-as-text",
  setup(b) {
    b.onLoad({ filter: /\.css$/ }, async ({ path }) => {
      const { readFile } = await import("node:fs/promises");
      const { code } = await transform(await readFile(path, "utf8"), { loader: "css", minify: true });
      return { contents: code.trim(), loader: "text" };
    });
  },
};

const result = await build({
  entryPoints: [`${root}web/widget/main.ts`],
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["es2022", "chrome111", "firefox113", "safari16.4"],
  minify: true,
  legalComments: "none",
  logLevel: "warning",
  write: false,
  plugins: [cssAsText],
  absWorkingDir: root,
});
const contents = result.outputFiles[0].contents;
await mkdir(`${root}public`, { recursive: true });

// Atomically: a running `wrangler dev` serves public/ while this writes.
writeFileSync(`${target}.tmp`, contents);
renameSync(`${target}.tmp`, target);

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(
  `build-widget: widget.js ${kib(contents.byteLength)} (${kib(gzipSync(contents, { level: 9 }).byteLength)} gzipped) in ${Math.round(performance.now() - started)} ms`,
);
