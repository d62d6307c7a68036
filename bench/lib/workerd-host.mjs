/**
 * One workerd (through Miniflare, the library `wrangler dev` itself runs on) holding every
 * Durable Object target, so they share one runtime build and configuration:
 *
 *   edge-chat   the project: src/index.ts bundled, bindings read from wrangler.toml
 *   bench-do    do-min and do-sql (bench/targets/do-worker)
 *   bench-seed  the project with bench-only seeding routes (history and flush benches)
 *
 * Each Worker gets its own direct socket on 127.0.0.1 (no entry/proxy worker in between, so
 * the DO's own sends are what is measured). Forked by bench/run.mjs with IPC; it replies
 * `{ ready, urls, pid, workerdPid }` and stops on `{ cmd: "stop" }`.
 *
 * argv: <stateDir> <json overrides for the project's vars> [<json variants>] [<json options>]
 *
 * Variants (the `limits` section): `{ "<name>": { VAR: value } }` adds the project once more per
 * name, as Worker `edge-chat-<name>` with those vars over the others (its own Durable Object
 * namespaces, the same D1), at `urls.variants[name]`. With `{ role: "limits" }` this workerd holds
 * only them and `edge-chat` (their queues' consumer), apart from the other targets.
 *
 * Options (the largeroom section's ours-sharded, lib/sharding.mjs): `{ registry, sharded: true }`
 * adds Worker `edge-chat-sharded` (the project with sharding on, its shards in other workerd
 * processes) at `urls.sharded`, and registers this workerd's Workers in the dev registry
 * directory `registry`. `{ registry, role: "shards", region: n }` makes this the shards' workerd of
 * region n: only the project as Worker SHARDS_WORKERS[n], holding that region's shard objects, at
 * `urls.shards`.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { BUILD_DIR } from "./build.mjs";
import { ROOT } from "./paths.mjs";

import { REGION_PLACES, ROOMS_WORKER, SHARDS_WORKERS, SHARD_VARS, shardedDurableObjects } from "./sharding.mjs";

const [stateDir, overridesJson = "{}", variantsJson = "{}", optionsJson = "{}"] = process.argv.slice(2);
const overrides = JSON.parse(overridesJson);
const variants = JSON.parse(variantsJson);
const options = JSON.parse(optionsJson);

// The Miniflare that wrangler (the project's pinned CLI) uses, not whatever is hoisted.
const requireFromWrangler = createRequire(createRequire(join(ROOT, "package.json")).resolve("wrangler/package.json"));
const { Miniflare, Log, LogLevel } = await import(pathToFileURL(requireFromWrangler.resolve("miniflare")).href);
const { unstable_getMiniflareWorkerOptions } = await import(
  pathToFileURL(createRequire(join(ROOT, "package.json")).resolve("wrangler")).href
);

const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, "wrangler.toml"));
// Static assets are not part of any bench path (the Worker runs first for /api and /parties).
// A queue may have only one consumer: the project's queues are consumed by `edge-chat` alone,
// not by its copies below.
const { assets: _assets, queueConsumers, ...projectOptions } = workerOptions;
for (const [k, v] of Object.entries(projectOptions)) {
  if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0) delete projectOptions[k];
  if (Array.isArray(v) && v.length === 0) delete projectOptions[k];
}
const bindings = { ...projectOptions.bindings, ...overrides };

const direct = [{ host: "127.0.0.1", port: 0 }];
const common = { compatibilityDate: projectOptions.compatibilityDate, compatibilityFlags: projectOptions.compatibilityFlags };
/**
 * A bundle as one module, given whole: with `scriptPath` Miniflare walks the bundle's imports and
 * refuses the dynamic `import(specifier)` that file-type keeps for Node (never called in workerd).
 */
const bundle = (file) => ({ modules: [{ type: "ESModule", path: file, contents: readFileSync(file, "utf8") }] });

/** The project with sharding on, in any process of ours-sharded (lib/sharding.mjs). */
const shardedProject = (name, side, region) => ({
  ...projectOptions,
  name,
  ...common,
  ...bundle(join(BUILD_DIR, "sharded-worker.mjs")),
  bindings: { ...bindings, ...SHARD_VARS, ...(side === "shards" ? { BENCH_SHARD_FROM: JSON.stringify(REGION_PLACES[region]) } : {}) },
  durableObjects: shardedDurableObjects(projectOptions.durableObjects ?? {}, side),
  unsafeDirectSockets: direct,
});
const shardsWorker = SHARDS_WORKERS[options.region ?? 0];

/** The project as `edge-chat`: the queues' only consumer (a queue may have only one). */
const project = {
  ...projectOptions,
  name: "edge-chat",
  ...common,
  ...bundle(join(BUILD_DIR, "ours.mjs")),
  bindings,
  ...(queueConsumers ? { queueConsumers } : {}),
  unsafeDirectSockets: direct,
};
const variantWorkers = Object.entries(variants).map(([name, vars]) => ({
  ...projectOptions,
  name: `edge-chat-${name}`,
  ...common,
  ...bundle(join(BUILD_DIR, "ours.mjs")),
  bindings: { ...bindings, ...vars },
  unsafeDirectSockets: direct,
}));
const benchWorkers = [
  {
    name: "bench-do",
    ...common,
    ...bundle(join(BUILD_DIR, "do-worker.mjs")),
    durableObjects: {
      MIN: { className: "MinRoomDO", useSQLite: true },
      SQL: { className: "SqlRoomDO", useSQLite: true },
    },
    unsafeDirectSockets: direct,
  },
  ...(existsSync(join(BUILD_DIR, "ours-before.mjs"))
    ? [
        {
          ...projectOptions,
          name: "edge-chat-before",
          ...common,
          ...bundle(join(BUILD_DIR, "ours-before.mjs")),
          bindings,
          unsafeDirectSockets: direct,
        },
      ]
    : []),
  {
    ...projectOptions,
    name: "bench-seed",
    ...common,
    ...bundle(join(BUILD_DIR, "seed-worker.mjs")),
    bindings,
    durableObjects: { ROOM: { className: "BenchRoom", useSQLite: true } },
    unsafeDirectSockets: direct,
  },
  ...(options.sharded ? [shardedProject(ROOMS_WORKER, "rooms")] : []),
];
const workers =
  options.role === "shards" ? [shardedProject(shardsWorker, "shards", options.region ?? 0)]
  : options.role === "limits" ? [project, ...variantWorkers]
  : [project, ...benchWorkers, ...variantWorkers];

const mf = new Miniflare({
  host: "127.0.0.1",
  port: 0,
  cf: false, // no request.cf download: loopback only
  // bench/profile.mjs attaches the V8 profiler through workerd's inspector.
  ...(process.env.BENCH_INSPECTOR_PORT ? { inspectorPort: Number(process.env.BENCH_INSPECTOR_PORT) } : {}),
  // Two workerd processes find each other's Workers here (ours-sharded).
  ...(options.registry ? { unsafeDevRegistryPath: options.registry } : {}),
  log: new Log(process.env.BENCH_WORKERD_LOG ? LogLevel.INFO : LogLevel.WARN),
  d1Persist: join(stateDir, "v3", "d1"),
  durableObjectsPersist: join(stateDir, "v3", "do"),
  handleRuntimeStdio(stdout, stderr) {
    // Worker console output, for failures; kept off the bench's own progress lines.
    stdout.on("data", (d) => process.env.BENCH_WORKERD_LOG && process.stderr.write(d));
    stderr.on("data", (d) => process.stderr.write(d));
  },
  workers,
});

await mf.ready;
const url = async (worker) => (await mf.unsafeGetDirectURL(worker)).href.replace(/\/$/, "");
const urls =
  options.role === "shards" ? { shards: await url(shardsWorker) }
  : options.role === "limits" ? { ours: await url("edge-chat") }
  : { ours: await url("edge-chat"), do: await url("bench-do"), seed: await url("bench-seed") };
if (options.sharded) urls.sharded = await url(ROOMS_WORKER);
urls.variants = {};
for (const name of Object.keys(variants)) {
  urls.variants[name] = await url(`edge-chat-${name}`);
}
if (!options.role && existsSync(join(BUILD_DIR, "ours-before.mjs"))) {
  urls.oursBefore = await url("edge-chat-before");
}

function findWorkerd() {
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(rest[1]) === process.pid && stat.includes("(workerd)")) return Number(pid);
    } catch {
      // raced with an exiting process
    }
  }
  return null;
}

process.send?.({ ready: true, urls, pid: process.pid, workerdPid: findWorkerd() });

process.on("message", async (msg) => {
  if (msg?.cmd === "stop") {
    await mf.dispose().catch(() => {});
    process.exit(0);
  }
});
process.on("disconnect", async () => {
  await mf.dispose().catch(() => {});
  process.exit(0);
});
