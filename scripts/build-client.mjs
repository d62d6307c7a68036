// Builds the published client, `edge-chat/client` (package.json "exports"): src/client/index.ts
// → dist/client/index.js, one ES module for browsers and Node (with its source map), and its
// declarations → dist/client/types/ (tsc with tsconfig.client.json). partysocket and idb-keyval
// stay imports, resolved from the package's own dependencies; the shared protocol is bundled
// in (without zod, which only the server's parsers use).
//
// Run by `npm run build:client`, by `npm run typecheck` first, and by the node test project's
// global setup, so a test importing "edge-chat/client" always gets the current source.
import { execFile } from "node:child_process";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = join(root, "dist/client");
const started = performance.now();

await rm(out, { recursive: true, force: true });

const bundle = build({
  entryPoints: { index: join(root, "src/client/index.ts") },
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  external: ["partysocket", "idb-keyval"],
  sourcemap: "linked",
  outdir: out,
  legalComments: "none",
  logLevel: "warning",
  metafile: true,
  absWorkingDir: root,
});

const tsc = join(root, "node_modules/typescript/bin/tsc");
const declarations = promisify(execFile)(process.execPath, [tsc, "-p", join(root, "tsconfig.client.json")], { cwd: root });

const [result] = await Promise.all([bundle, declarations]);

// tsc keeps the source's extensionless relative imports; Node's ESM resolution (moduleResolution
// node16/nodenext in a consumer's tsconfig) needs the file's real name.
const types = join(out, "types");
for (const entry of await readdir(types, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith(".d.ts")) continue;
  const path = join(entry.parentPath, entry.name);
  const text = await readFile(path, "utf8");
  await writeFile(path, text.replace(/(from\s+["'])(\.{1,2}\/[^"']+?)(["'])/g, (_, a, spec, b) => `${a}${spec.endsWith(".js") ? spec : `${spec}.js`}${b}`));
}

const output = result.metafile.outputs["dist/client/index.js"];
const zod = Object.entries(output?.inputs ?? {}).filter(([path, { bytesInOutput }]) => path.includes("node_modules/zod") && bytesInOutput > 0);
if (zod.length) throw new Error(`build-client: zod is in the client bundle (${zod[0][0]}…); the client must use no schema`);
const size = output?.bytes ?? 0;
console.log(`build-client: dist/client/index.js ${(size / 1024).toFixed(1)} KiB, types in dist/client/types/ in ${Math.round(performance.now() - started)} ms`);
