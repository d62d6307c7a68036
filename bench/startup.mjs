#!/usr/bin/env node
/**
 * The Worker's bundle size and the CPU a cold isolate spends starting it (compiling the bundle
 * and running its top level), for this tree and optionally an earlier commit, side by side.
 *
 *   node bench/startup.mjs [--before <git rev>[,<git rev>...]] [--minified] [--rounds 15] [--env production]
 *
 * --minified adds this tree built with --minify, for comparison only: the deploy does not
 * minify (the stacks our JSON logs carry would point into one long line).
 *
 * Each bundle is built as `wrangler deploy --dry-run` builds it; each round profiles every
 * bundle once, in turn, with `wrangler check startup` (a fresh workerd, V8's sampling
 * profiler, ~1 ms samples). CPU is the samples that are not idle; the median of the rounds is
 * printed with its ratio to the first bundle. Absolute numbers are this box's.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { cliArgs } from "./lib/args.mjs";
import { ROOT } from "./lib/paths.mjs";

process.env.WRANGLER_SEND_METRICS = "false";
const { option: opt, flag } = cliArgs();
const befores = opt("before")?.split(",") ?? [];
const rounds = Number(opt("rounds", 15));
const env = opt("env", "");

const work = await mkdtemp(join(tmpdir(), "startup-"));
const wrangler = join(ROOT, "node_modules/.bin/wrangler");
const run = (cwd, args) => execFileSync(wrangler, args, { cwd, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });

/** Builds the tree at `cwd` into `out/`: index.js (what is uploaded) and worker.bundle (what check startup loads). */
async function build(name, cwd, extra = []) {
  const out = join(work, name);
  run(cwd, ["deploy", "--dry-run", `--env=${env}`, "--outdir", out, "--outfile", join(out, "worker.bundle"), ...extra]);
  const js = await readFile(join(out, "index.js"));
  return { name, bundle: join(out, "worker.bundle"), bytes: js.byteLength, gzipped: gzipSync(js, { level: 9 }).byteLength, cpu: [] };
}

/**
 * Non-idle samples times the sampling interval, and how much of it was (program) (V8 compiling,
 * mostly) and GC. Counting samples rather than adding up the gaps between them leaves out the
 * time the thread sat descheduled on a busy box (a gap, but no extra sample).
 */
function cpuOf(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame.functionName]));
  const interval = median(profile.timeDeltas.slice(1)) / 1000;
  const out = { total: 0, program: 0, gc: 0 };
  for (const id of profile.samples) {
    const fn = byId.get(id);
    if (fn === "(idle)") continue;
    out.total += interval;
    if (fn === "(program)") out.program += interval;
    if (fn === "(garbage collector)") out.gc += interval;
  }
  return out;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const builds = [];
for (const [i, rev] of befores.entries()) {
  // The earlier commit's files only (git archive), built with this tree's node_modules.
  const tree = join(work, `tree-${i}`);
  await mkdir(tree);
  execFileSync("sh", ["-c", `git archive --format=tar "$0" | tar -x -C "$1"`, rev, tree], { cwd: ROOT });
  await symlink(join(ROOT, "node_modules"), join(tree, "node_modules"));
  builds.push(await build(rev, tree));
}
builds.push(await build("this tree", ROOT));
if (flag("minified")) builds.push(await build("this tree, minified", ROOT, ["--minify"]));

for (let r = 1; r <= rounds; r++) {
  const line = [];
  for (const b of builds) {
    const file = join(work, "startup.cpuprofile");
    run(ROOT, ["check", "startup", "--worker", b.bundle, "--outfile", file]);
    const cpu = cpuOf(JSON.parse(await readFile(file, "utf8")));
    b.cpu.push(cpu);
    line.push(`${b.name} ${cpu.total.toFixed(1)} ms`);
  }
  console.log(`round ${r}: ${line.join(", ")}`);
}

const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
const first = builds[0];
console.log(`\n| bundle | index.js | gzipped | startup CPU (median of ${rounds}) | of it (program) | GC | ratio |`);
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const b of builds) {
  const m = (k) => median(b.cpu.map((c) => c[k]));
  const ratio = m("total") / median(first.cpu.map((c) => c.total));
  console.log(
    `| ${b.name} | ${kib(b.bytes)} | ${kib(b.gzipped)} | ${m("total").toFixed(1)} ms | ${m("program").toFixed(1)} ms | ${m("gc").toFixed(1)} ms | ×${ratio.toFixed(2)} |`,
  );
}
await rm(work, { recursive: true, force: true });
