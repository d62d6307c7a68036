#!/usr/bin/env node
/**
 * npm run bench [-- --quick] [-- --only fanout,cpu,mix,limits,notify,roomsize,largeroom,memory,history,flush] [-- --targets ours,do-min]
 *
 * Runs the whole suite against local workerd (the Miniflare that wrangler itself uses) and
 * Node baselines, then writes bench/results/latest.md, latest.json and latest.svg.
 * See bench/README.md for what is measured and how to read it.
 */
import { execFileSync } from "node:child_process";
import { mkdir, readFile, readdir, rm, writeFile, rename } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { basename, join } from "node:path";
import { cliArgs } from "./lib/args.mjs";
import { buildWorkers } from "./lib/build.mjs";
import { BENCH_DIR, LIMITS_STATE_DIR, RESULTS_DIR, ROOT, STATE_DIR } from "./lib/paths.mjs";
import { fanoutRatios, renderMarkdown, renderSvg } from "./lib/report.mjs";
import { limitVariants as limitVariantVars, limits as limitsSection } from "./lib/scenario-limits.mjs";
import { mix } from "./lib/scenario-mix.mjs";
import { NOTIFY_VARIANTS } from "./lib/notify-setup.mjs";
import { notify } from "./lib/scenario-notify.mjs";
import * as scenarios from "./lib/scenarios.mjs";
import { redisMissing, startRedis, startRedisServer } from "./lib/redis.mjs";
import { largeRoom } from "./lib/scenario-largeroom.mjs";
import { applyMigrations, startNodeTarget, startSioCluster, startWorkerd } from "./lib/servers.mjs";
import { LIMITS } from "./lib/session.mjs";
import { SHARD_CLASS, SHARD_PROCESSES, SHARDS_WORKERS, SHARD_VARS, projectDurableObjects, shardingMissing } from "./lib/sharding.mjs";
import { LARGE_ROOM_ONLY, LARGE_ROOM_TARGETS, OPTIONAL_TARGETS, TARGETS, makeTarget } from "./lib/targets.mjs";
import { BENCH_VARS } from "./lib/vars.mjs";

process.env.WRANGLER_SEND_METRICS = "false";

const SECTIONS = ["fanout", "cpu", "mix", "limits", "notify", "roomsize", "largeroom", "history", "flush", "memory"];

const { flag, option, vars: withVars } = cliArgs();
if (flag("help")) {
  console.log(
    `usage: npm run bench [-- --quick] [--only ${SECTIONS.join(",")}] [--targets ${TARGETS.join(",")}]` +
      " [--out <name>] [--strict] [--compare bench/results/latest.json] [--ours-outbox <file>] [--before-outbox <file>|git:<rev>] [--configs 1x10,50x500] [--mix-configs 4x10@100] [--limits-configs 1x10@100] [--sizes 800,1600]" +
        " [--var NAME=value]",
  );
  process.exit(0);
}

const QUICK = flag("quick");
/** Exit non-zero when a step could not run at all (a section recorded an error): CI's smoke run. */
const STRICT = flag("strict");

/**
 * The project's settings for the bench (lib/vars.mjs): DEV_MODE for /api/auth/dev tokens, and
 * the guards the bench would trip (send, frame and connection budgets, the socket cap per user
 * and room) raised, never removed from the code.
 */
const VARS = withVars(BENCH_VARS);
// Experiments: --var FLUSH_INTERVAL_MS=3600000 (repeatable), recorded in the results.

const FULL = {
  retries: 3,
  /** How long a retry waits for other jobs on the box to go quiet before measuring anyway. */
  quietWaitMs: 30_000,
  /** The same before a first attempt. */
  quietFirstMs: 2_000,
  /** An unrecorded step before each target's first measured one. */
  warmupMs: 1500,
  /** Run a failing step once more before believing it. */
  confirmFailures: true,
  fanout: {
    configs: [
      [1, 10],
      [10, 100],
      [50, 500],
    ],
    // Same input for every target, low enough for all of them: where p50/p99 are compared.
    fixedRates: { "1x10": 100, "10x100": 25, "50x500": 5 },
    factor: 2,
    maxSteps: 9,
    maxRate: 20_000,
    bisect: 2,
    stepMs: 2500,
  },
  roomSize: { rate: 16, senders: 4, sizes: [100, 200, 400, 800, 1600, 3200], stepMs: 4000, refine: true },
  // Issue 13: the same search with a looser p99 and further sizes, for the largeroom targets.
  largeRoom: {
    rate: 16,
    senders: 4,
    sizes: [200, 400, 800, 1600, 3200, 4800, 6400, 9600],
    stepMs: 4000,
    refine: true,
    p99Ms: 150,
    goals: { shardedOverSingle: 1.8 },
  },
  cpu: { configs: [[1, 10], [10, 100], [50, 500]], rounds: 3, stepMs: 5000 },
  // Acting sockets (a fifth of them send, the rest react and read) × receivers, actions/s.
  mix: { configs: [[10, 100], [4, 10]], rates: { "10x100": 25, "4x10": 100 }, rounds: 3, stepMs: 5000, seedRate: 200 },
  // The send path with rate limits off, embedded and Upstash (senders × receivers at msg/s). A
  // round lasts stepMs, or longer at a low rate to give `acksPerRound`: the p99 of 900 acks is
  // their 9th slowest, and which 9 came out of a round of 150 was luck more than the limit.
  limits: { configs: [[1, 10], [10, 100]], rates: { "1x10": 100, "10x100": 25 }, rounds: 8, stepMs: 6000, acksPerRound: 300 },
  // One group of `members` per variant (none, some, all with a user socket open; mentions), one sender.
  notify: { members: 1000, someSockets: 100, receivers: 10, rate: 20, stepMs: 10_000, rounds: 3, mentionEvery: 10, variants: NOTIFY_VARIANTS },
  memory: { sizes: [1000, 5000], hibernateWaitMs: 15_000, freshServers: true, settleMs: 2500 },
  history: { sizes: [1_000, 100_000, 1_000_000], requests: 100, seedBatch: 100_000 },
  flush: { batches: [10, 100, 1000], rows: { 10: 2_000, 100: 10_000, 1000: 30_000 } },
};

const QUICK_CFG = {
  retries: 1,
  quietWaitMs: 3_000,
  quietFirstMs: 500,
  warmupMs: 800,
  confirmFailures: false,
  fanout: {
    configs: [[10, 100]],
    fixedRates: { "10x100": 25 },
    factor: 8,
    maxSteps: 2,
    maxRate: 20_000,
    bisect: 0,
    stepMs: 1200,
  },
  roomSize: { rate: 16, senders: 4, sizes: [400, 1200], stepMs: 1200 },
  largeRoom: { rate: 16, senders: 4, sizes: [400, 1600], stepMs: 1200, refine: false, p99Ms: 150, goals: { shardedOverSingle: 1.8 } },
  // The quick run compares the Durable Object targets only (the CPU goal is about do-min).
  cpu: { configs: [[10, 100]], rounds: 1, stepMs: 1200, targets: ["do-min", "do-sql", "ours"] },
  mix: { configs: [[10, 100]], rates: { "10x100": 25 }, rounds: 1, stepMs: 1200, seedRate: 200 },
  // Three rounds, so the median is a middle one and not the larger of two.
  limits: { configs: [[1, 10], [10, 100]], rates: { "1x10": 100, "10x100": 25 }, rounds: 3, stepMs: 1200, acksPerRound: 30 },
  // Smaller groups: setting up four rooms of 1,000 and their "added" notifications takes minutes.
  notify: { members: 200, someSockets: 20, receivers: 10, rate: 20, stepMs: 3000, rounds: 1, mentionEvery: 10, variants: NOTIFY_VARIANTS },
  memory: { sizes: [500], hibernateWaitMs: 0, freshServers: false, settleMs: 1000 },
  history: { sizes: [1_000, 100_000], requests: 20, seedBatch: 100_000 },
  flush: { batches: [10, 100, 1000], rows: { 10: 300, 100: 2_000, 1000: 4_000 } },
};

const cfg = structuredClone(QUICK ? QUICK_CFG : FULL);
// Narrowing a run while working on one thing: --configs 10x100,50x500 --sizes 800,1600
if (option("configs")) cfg.fanout.configs = cfg.cpu.configs = option("configs").split(",").map((c) => c.split("x").map(Number));
for (const [S, R] of [...cfg.fanout.configs, ...cfg.cpu.configs]) {
  cfg.fanout.fixedRates[`${S}x${R}`] ??= FULL.fanout.fixedRates[`${S}x${R}`] ?? 10;
}
// --mix-configs 4x10@100: acting sockets x receivers @ actions/s
if (option("mix-configs")) {
  const parsed = option("mix-configs").split(",").map((c) => c.split("@"));
  cfg.mix.configs = parsed.map(([sr]) => sr.split("x").map(Number));
  cfg.mix.rates = Object.fromEntries(parsed.map(([sr, rate]) => [sr, Number(rate ?? cfg.mix.rates[sr] ?? 25)]));
}
// --limits-configs 1x10@100: senders x receivers @ msg/s
if (option("limits-configs")) {
  const parsed = option("limits-configs").split(",").map((c) => c.split("@"));
  cfg.limits.configs = parsed.map(([sr]) => sr.split("x").map(Number));
  cfg.limits.rates = Object.fromEntries(parsed.map(([sr, rate]) => [sr, Number(rate ?? cfg.limits.rates[sr] ?? 25)]));
}
if (option("sizes")) cfg.roomSize.sizes = cfg.largeRoom.sizes = option("sizes").split(",").map(Number);
const only = option("only")?.split(",") ?? SECTIONS;
const unknown = only.filter((s) => !SECTIONS.includes(s));
if (unknown.length) throw new Error(`unknown section ${unknown.join(", ")} (sections: ${SECTIONS.join(", ")})`);
const beforeOutboxArg = option("before-outbox");
const beforeArg = option("before");
if (beforeOutboxArg && beforeArg) throw new Error("--before and --before-outbox both build ours-before: give one");
const withBefore = Boolean(beforeOutboxArg || beforeArg);
const targets = (option("targets") ?? [...TARGETS, ...(withBefore ? OPTIONAL_TARGETS : [])].join(","))
  .split(",")
  .filter((t) => TARGETS.includes(t) || (withBefore && OPTIONAL_TARGETS.includes(t)));
const outName = option("out") ?? "latest";
// The largeroom section has targets of its own (two of them run nowhere else); --targets narrows them too.
const largeRoomTargets = option("targets")
  ? option("targets").split(",").filter((t) => LARGE_ROOM_TARGETS.includes(t))
  : LARGE_ROOM_TARGETS;
const runsLargeRoom = only.includes("largeroom") && largeRoomTargets.length > 0;
const largeRoomNeeds = (t) => runsLargeRoom && largeRoomTargets.includes(t);

// ---- Progress ------------------------------------------------------------------------------

const started = Date.now();
const clock = () => {
  const s = Math.round((Date.now() - started) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
};
const log = (line) => console.log(`[${clock()}] ${line}`);
let lastNote = 0;
const progressNote = (line) => {
  if (Date.now() - lastNote < 2000) return;
  lastNote = Date.now();
  log(`  … ${line}`);
};

function logStep(label, r) {
  const verdict = !r.valid ? (r.disturbed ? "DISCARDED (machine busy)" : "DISCARDED (generator lag)") : r.pass ? "ok  " : "FAIL";
  const fmt = (v) => (v === null ? "-" : v >= 100 ? Math.round(v) : v);
  log(
    `  ${label.padEnd(26)} ${String(r.rate).padStart(6)} msg/s  ${verdict}  p50 ${fmt(r.latency.p50)} p99 ${fmt(r.latency.p99)} ms` +
      `  delivered ${(r.deliveredRatio * 100).toFixed(r.deliveredRatio === 1 ? 0 : 1)}%  ${r.deliveriesPerSec} deliveries/s` +
      (r.msgsPerFrame > 1.05 ? ` (${r.msgsPerFrame} msgs/frame)` : "") +
      (r.errors ? `  ${r.errors} error frames ("${r.firstError}")` : "") +
      `  server ${r.cpuPerDeliveryUs ?? "-"} µs/delivery (${Math.round(r.serverCpuShare * 100)}% core)` +
      (r.valid ? "" : `  [lag p99 ${r.sendLag.p99} ms, gen loop ${r.genLoopDelayP99Ms} ms, gen cpu ${r.genCpuShare}, other ${r.foreignCores} cores]`),
  );
}

// ---- Run -----------------------------------------------------------------------------------

function git(...a) {
  try {
    return execFileSync("git", a, { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return null;
  }
}

async function main() {
  log(
    `edge-chat bench (${QUICK ? "quick" : "full"}): ${only.join(", ")}${targets.length ? ` on ${targets.join(", ")}` : ""}` +
      (runsLargeRoom ? ` (largeroom: ${largeRoomTargets.join(", ")})` : ""),
  );
  await mkdir(RESULTS_DIR, { recursive: true });
  // Local D1 and Durable Object state for this run only. Leftovers of earlier runs are removed,
  // but never the state of a run that is still going (its pid is in the name).
  const runName = `run-${process.pid}-${Date.now()}`;
  const stateDir = join(STATE_DIR, runName);
  for (const root of new Set([STATE_DIR, LIMITS_STATE_DIR])) {
    await mkdir(root, { recursive: true });
    for (const name of await readdir(root)) {
      const pid = Number(name.split("-")[1]);
      if (!(pid > 0 && isAlive(pid))) await rm(join(root, name), { recursive: true, force: true });
    }
  }
  await mkdir(stateDir, { recursive: true });
  const limitsStateDir = join(LIMITS_STATE_DIR, `${runName}-limits`);

  log("building the Workers (project, do-min/do-sql, seedable project) …");
  const oursOutbox = option("ours-outbox");
  if (oursOutbox) log(`building ours with ${oursOutbox} in place of src/room/outbox.ts`);
  const beforeOutbox = beforeOutboxArg ? await outboxFile(beforeOutboxArg) : null;
  if (beforeOutbox) log(`building ours-before with ${beforeOutboxArg} as src/room/outbox.ts`);
  const beforeEntry = beforeArg ? await treeAt(beforeArg) : null;
  if (beforeEntry) log(`building ours-before from the project's src/ at ${beforeArg}`);
  await buildWorkers({ outbox: oursOutbox, beforeOutbox, beforeEntry });
  log("applying D1 migrations to a fresh local state …");
  await applyMigrations(stateDir);

  const otherSections = only.some((s) => s !== "largeroom");
  const needsWorkerd =
    (only.some((s) => s !== "largeroom" && s !== "limits") && targets.some((t) => t.startsWith("do-") || t === "ours")) ||
    only.includes("history") ||
    only.includes("flush") ||
    largeRoomNeeds("ours") ||
    largeRoomNeeds("ours-sharded");
  const servers = {};
  const stopAll = async () => Promise.all(Object.values(servers).map((s) => s.stop().catch(() => {})));
  process.once("SIGINT", async () => {
    await stopAll();
    process.exit(130);
  });
  try {
    // The limits section: the project once per variant in a workerd of their own, its storage
    // on a tmpfs (lib/paths.mjs says why), and for the Upstash ones a local redis-server behind
    // upstash-redis-server, started here.
    let limitVariants = null;
    if (only.includes("limits") && targets.includes("ours")) {
      const skipped = {};
      const missing = redisMissing();
      if (missing) {
        skipped["limits-upstash"] = missing;
        log(`limits-upstash skipped: ${missing}`);
      } else {
        try {
          servers.redis = await startRedis();
          log(`redis-server ${servers.redis.version} behind upstash-redis-server at ${servers.redis.url}`);
        } catch (err) {
          skipped["limits-upstash"] = `the local Redis did not start: ${String(err?.message ?? err)}`;
          log(`limits-upstash skipped: ${skipped["limits-upstash"]}`);
        }
      }
      limitVariants = { variants: limitVariantVars(VARS, servers.redis), skipped, stateDir: limitsStateDir };
      await mkdir(limitsStateDir, { recursive: true });
      await applyMigrations(limitsStateDir);
      servers.limits = await startWorkerd(limitsStateDir, VARS, { variants: limitVariants.variants, role: "limits" });
    }
    // The largeroom section: the shards' second workerd and the Socket.IO cluster on Redis, when
    // they can run here; otherwise the section notes why a target was skipped.
    const largeRoomSkipped = {};
    let sharding = null;
    if (largeRoomNeeds("ours-sharded")) {
      const missing = shardingMissing(await projectDurableObjects(ROOT));
      if (missing) largeRoomSkipped["ours-sharded"] = missing;
      else sharding = { registry: join(stateDir, "dev-registry"), stateDirs: SHARDS_WORKERS.map((_, i) => join(stateDir, `shards-${i + 1}`)) };
    }
    if (needsWorkerd) {
      servers.workerd = await startWorkerd(stateDir, VARS, sharding ? { registry: sharding.registry, sharded: true } : {});
    }
    if (sharding) {
      // One shards' workerd per region (lib/sharding.mjs).
      for (const [region, dir] of sharding.stateDirs.entries()) {
        await mkdir(dir, { recursive: true });
        await applyMigrations(dir);
        servers[`shards${region + 1}`] = await startWorkerd(dir, VARS, { registry: sharding.registry, role: "shards", region });
      }
    }
    if (targets.includes("raw") && otherSections) servers.raw = await startNodeTarget("raw");
    if ((targets.includes("socket.io") && otherSections) || largeRoomNeeds("socket.io")) servers["socket.io"] = await startNodeTarget("socket.io");
    if (largeRoomNeeds("socket.io-cluster")) {
      const missing = redisMissing();
      if (missing) largeRoomSkipped["socket.io-cluster"] = missing;
      else {
        servers.sioRedis = await startRedisServer();
        servers["socket.io-cluster"] = await startSioCluster(servers.sioRedis);
        log(`socket.io-cluster: 2 Socket.IO processes on redis-server ${servers.sioRedis.version} at ${servers.sioRedis.url}`);
      }
    }
    log(
      `servers up: ${Object.entries(servers)
        .map(([k, s]) => `${k} pid ${s.pids.join("+")}`)
        .join(", ")}`,
    );

    const made = new Map();
    const ctx = {
      cfg,
      vars: VARS,
      stateDir,
      servers,
      targets,
      limitVariants,
      largeRoom: {
        targets: largeRoomTargets,
        skipped: largeRoomSkipped,
        about: {
          shardClass: SHARD_CLASS,
          shardVars: SHARD_VARS,
          shardProcesses: SHARD_PROCESSES,
          redis: servers.sioRedis?.version ?? null,
          sioProcesses: servers["socket.io-cluster"]?.bases.length ?? null,
        },
      },
      log,
      logStep,
      progressNote,
      target(name) {
        if (!made.has(name)) made.set(name, makeTarget(name, servers));
        return made.get(name);
      },
    };

    const results = {
      meta: {
        mode: QUICK ? "quick" : "full",
        command: ["npm run bench --", ...process.argv.slice(2)].join(" "),
        date: new Date().toISOString(),
        commit: git("rev-parse", "--short", "HEAD"),
        dirty: (git("status", "--porcelain", "--", "src") ?? "").length > 0,
        node: process.version,
        cpu: cpus()[0]?.model ?? "unknown",
        cores: cpus().length,
        memGiB: Math.round(totalmem() / 2 ** 30),
        workerd: workerdVersion(),
        vars: VARS,
        limits: LIMITS,
        config: cfg,
        targets,
        ...(runsLargeRoom && { largeRoomTargets }),
        oursOutbox: option("ours-outbox"),
        beforeOutbox: beforeOutboxArg,
        before: beforeArg,
      },
    };

    const sections = [
      ["fanout", "fan-out", scenarios.fanout, "fanout"],
      ["cpu", "CPU per delivery, interleaved", scenarios.cpuInterleaved, "cpu"],
      ["mix", "reactions and reads", mix, "mix"],
      ["limits", "rate limits on the send path", limitsSection, "limits"],
      ["notify", "notifications on the send path", notify, "notify"],
      ["roomsize", "room size", scenarios.roomSize, "roomSize"],
      ["largeroom", "large room (issue 13)", largeRoom, "largeRoom"],
      ["history", "history", scenarios.history, "history"],
      ["flush", "flush", scenarios.flush, "flush"],
    ];
    const runMemory = async () => {
      log("== memory ==");
      const t0 = Date.now();
      results.memory = await scenarios.memory(ctx);
      log(`   memory took ${Math.round((Date.now() - t0) / 1000)} s`);
    };
    // On shared servers (quick run) memory goes first, while the servers have not yet grown
    // and freed memory that new sockets could reuse unseen.
    if (only.includes("memory") && !cfg.memory.freshServers) await runMemory();
    for (const [key, title, fn, field] of sections) {
      if (!only.includes(key)) continue;
      if (key === "limits" && !limitVariants) {
        log(`== ${title} == skipped: it measures variants of ours, which is not among --targets`);
        continue;
      }
      if (key === "largeroom" && !runsLargeRoom) {
        log(`== ${title} == skipped: none of its targets (${LARGE_ROOM_TARGETS.join(", ")}) is among --targets`);
        continue;
      }
      if (key === "notify" && !targets.includes("ours")) {
        log(`== ${title} == skipped: it measures ours, which is not among --targets`);
        continue;
      }
      log(`== ${title} ==`);
      const t0 = Date.now();
      results[field] = await fn(ctx);
      log(`   ${title} took ${Math.round((Date.now() - t0) / 1000)} s`);
    }
    if (only.includes("memory") && cfg.memory.freshServers) {
      // Fresh servers per target: stop the shared ones first.
      await stopAll();
      for (const k of Object.keys(servers)) delete servers[k];
      await runMemory();
    }
    results.meta.durationS = Math.round((Date.now() - started) / 1000);
    if (option("compare")) results.reference = await reference(option("compare"));

    await writeResults(results);
    const errors = errorsIn(results);
    if (STRICT && errors.length > 0) {
      console.error(`--strict: ${errors.length} step(s) could not run:\n${errors.slice(0, 10).join("\n")}`);
      process.exitCode = 1;
    }
  } finally {
    await stopAll();
    await rm(stateDir, { recursive: true, force: true }).catch(() => {});
    await rm(limitsStateDir, { recursive: true, force: true }).catch(() => {});
  }
}

/** Every `error` recorded anywhere in the results (a step that threw, not one that merely failed its goal). */
function errorsIn(value, path = "results") {
  if (value === null || typeof value !== "object") return [];
  const own = typeof value.error === "string" ? [`${path}: ${value.error.slice(0, 300)}`] : [];
  return own.concat(Object.entries(value).flatMap(([k, v]) => (k === "error" ? [] : errorsIn(v, `${path}.${k}`))));
}

/** The fan-out ratios of an earlier run, kept in this run's JSON so a re-render needs no other file. */
async function reference(file) {
  const ref = JSON.parse(await readFile(file, "utf8"));
  return { file: basename(file), commit: ref.meta.commit, date: ref.meta.date, mode: ref.meta.mode, ratios: fanoutRatios(ref) };
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A file path, or git:<rev> for src/room/outbox.ts as of that revision. */
/**
 * The project's src/ as it was at `rev` (`--before <rev>`), beside the bench's build, for
 * ours-before: the whole project then against now in one run. Durable Object classes that
 * wrangler.toml binds now and that tree did not have yet get an empty stand-in (the bench
 * never reaches them), so the same bindings load. Returns the tree's src/index.ts.
 */
async function treeAt(rev) {
  const dir = join(BENCH_DIR, ".build", "variants", `tree-${rev.replace(/[^\w.-]/g, "_")}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  execFileSync("sh", ["-c", `git archive ${JSON.stringify(rev)} src package.json | tar -x -C ${JSON.stringify(dir)}`], { cwd: ROOT });
  const entry = join(dir, "src", "index.ts");
  const index = readFileSync(entry, "utf8");
  const bound = Object.values(await projectDurableObjects(ROOT));
  const missing = bound.filter((name) => !new RegExp(`export \\{ ${name} \\}|export class ${name}\\b`).test(index));
  if (missing.length) {
    log(`ours-before: stand-ins for ${missing.join(", ")} (not in ${rev})`);
    await writeFile(entry, `${index}\n${missing.map((name) => `export class ${name} {}`).join("\n")}\n`);
  }
  return entry;
}

async function outboxFile(arg) {
  if (!arg.startsWith("git:")) return arg;
  const rev = arg.slice(4);
  const text = git("show", `${rev}:src/room/outbox.ts`);
  if (text === null) throw new Error(`git show ${rev}:src/room/outbox.ts failed`);
  const file = join(BENCH_DIR, ".build", "variants", `outbox-${rev.replace(/[^\w.-]/g, "_")}.ts`);
  await mkdir(join(BENCH_DIR, ".build", "variants"), { recursive: true });
  await writeFile(file, `${text}\n`);
  return file;
}

function workerdVersion() {
  try {
    const pkg = execFileSync("node", ["-p", "require('wrangler/node_modules/miniflare/package.json').version + ' (miniflare), ' + require('wrangler/package.json').version + ' (wrangler)'"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    return pkg.trim();
  } catch {
    return null;
  }
}

async function writeResults(results) {
  const json = join(RESULTS_DIR, `${outName}.json`);
  const md = join(RESULTS_DIR, `${outName}.md`);
  const svg = join(RESULTS_DIR, `${outName}.svg`);
  await writeFile(`${json}.tmp`, JSON.stringify(results, null, 2));
  await rename(`${json}.tmp`, json);
  const markdown = renderMarkdown(results, `${outName}.svg`);
  await writeFile(md, markdown);
  await writeFile(svg, renderSvg(results));
  console.log(`\n${markdown}`);
  log(`wrote ${[md, json, svg].map((p) => p.replace(`${ROOT}/`, "")).join(", ")}`);
}

main().then(
  // Anything still attached (a generator a failed section could not stop) must not keep us here.
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
