/**
 * Bundles the Workers the bench loads into workerd: the project (src/index.ts, as `wrangler
 * deploy` would ship it), the do-min/do-sql baselines, the seedable variant of the project used
 * by the history and flush benches, and the project as ours-sharded runs it (lib/sharding.mjs).
 * Output goes to bench/.build/ (ignored).
 */
import { build } from "esbuild";
import { mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { BENCH_DIR, ROOT } from "./paths.mjs";

export const BUILD_DIR = join(BENCH_DIR, ".build");

const ENTRIES = {
  ours: join(ROOT, "src/index.ts"),
  "do-worker": join(BENCH_DIR, "targets/do-worker/index.ts"),
  "seed-worker": join(BENCH_DIR, "targets/seed-worker/index.ts"),
  // ours-sharded's processes (lib/sharding.mjs): the project with its regions supplied.
  "sharded-worker": join(BENCH_DIR, "targets/sharded-worker/index.ts"),
};

/**
 * `outbox`: build the project with another src/room/outbox.ts (a path), for before/after
 * comparisons of the outbox alone (`npm run bench -- --ours-outbox <file>`). `beforeOutbox` builds
 * ours-before the same way; `beforeEntry` builds it from another tree's src/index.ts (`--before <rev>`).
 */
export async function buildWorkers({ outbox, beforeOutbox, beforeEntry } = {}) {
  await mkdir(BUILD_DIR, { recursive: true });
  const out = {};
  const swapOutbox = (file) => ({
    name: "swap-outbox",
    setup(b) {
      b.onResolve({ filter: /^\.\/outbox$/ }, (args) =>
        file && args.importer.startsWith(join(ROOT, "src/room/")) ? { path: resolve(file) } : undefined,
      );
    },
  });
  const entries = Object.entries(ENTRIES);
  // "ours-before": the project with an earlier outbox, run beside ours in the same workerd.
  if (beforeEntry) entries.push(["ours-before", beforeEntry]);
  else if (beforeOutbox) entries.push(["ours-before", ENTRIES.ours]);
  else await rm(join(BUILD_DIR, "ours-before.mjs"), { force: true });
  for (const [name, entry] of entries) {
    const outfile = join(BUILD_DIR, `${name}.mjs`);
    const swap = name === "ours" ? outbox : name === "ours-before" ? beforeOutbox : null;
    await build({
      plugins: swap ? [swapOutbox(swap)] : [],
      entryPoints: [entry],
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      conditions: ["workerd", "worker", "browser"],
      external: ["cloudflare:*", "node:*"],
      outfile,
      sourcemap: "external",
      logLevel: "error",
    });
    out[name] = outfile;
  }
  return out;
}
