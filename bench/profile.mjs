#!/usr/bin/env node
/**
 * Where does a target spend its time? Runs one fan-out load against a Durable Object target
 * in the bench's workerd with the V8 sampling profiler attached through workerd's inspector,
 * then prints the hottest functions (self time) and how the isolate's time compares with the
 * whole workerd process (the rest is socket I/O, the runtime and SQLite outside JavaScript).
 *
 *   npm run bench:profile -- [--target ours|do-min|do-sql] [--senders 10] [--receivers 100]
 *                            [--rate 200] [--seconds 5] [--top 30] [--var NAME=value]
 *                            [--upstash] [--focus name,name] [--label x]
 *
 * Besides self time per function it prints the time per source module: each sample goes to the
 * module (esbuild's `// path` markers in the bundle) of the innermost bundle frame on its stack,
 * so a runtime call (`fetch`, a socket `send`, an RPC) counts for the code that made it.
 *
 * `--upstash` starts a local Redis behind upstash-redis-server (as the `limits` section does) and
 * points ours at it, so the send limit is counted by @upstash/ratelimit; `--var RATE_SENDS=off
 * --var RATE_FRAMES=off` profiles ours without limits. `--focus` adds the inclusive time of the
 * functions whose names contain one of the given strings (e.g. `hit,limit`): self time alone
 * spreads a call such as the limit check over the runtime's own frames.
 *
 * Writes bench/results/profile-<target>-<S>x<R>[-<label>].md (summary) and .cpuprofile (open it
 * in Chrome DevTools → Performance; not committed).
 */
import { readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import WebSocket from "ws";
import { cliArgs } from "./lib/args.mjs";
import { BUILD_DIR, buildWorkers } from "./lib/build.mjs";
import { RESULTS_DIR, STATE_DIR } from "./lib/paths.mjs";
import { cpuSeconds } from "./lib/procstat.mjs";
import { applyMigrations, startWorkerd } from "./lib/servers.mjs";
import { Session } from "./lib/session.mjs";
import { makeTarget } from "./lib/targets.mjs";
import { BENCH_VARS } from "./lib/vars.mjs";
import { startRedis } from "./lib/redis.mjs";
import { freePort } from "../scripts/local-upstash.mjs";

process.env.WRANGLER_SEND_METRICS = "false";
const { option: opt, flag, vars: withVars } = cliArgs();
const targetName = opt("target", "ours");
const senders = Number(opt("senders", 10));
const receivers = Number(opt("receivers", 100));
const rate = Number(opt("rate", 200));
const seconds = Number(opt("seconds", 5));
const top = Number(opt("top", 30));
const upstash = flag("upstash");
const focus = (opt("focus", "") ?? "").split(",").filter(Boolean);
const label = opt("label", null);


class Inspector {
  static async open(port, match) {
    const list = await (await fetch(`http://localhost:${port}/json/list`)).json();
    const target = list.find((t) => `${t.id} ${t.title}`.includes(match));
    if (!target) throw new Error(`no inspector target matching ${match}: ${list.map((t) => t.id).join(", ")}`);
    const url = target.webSocketDebuggerUrl ?? `ws://localhost:${port}/${target.id}`;
    const i = new Inspector();
    i.ws = new WebSocket(url);
    i.pending = new Map();
    i.seq = 0;
    i.ws.on("message", (d) => {
      const msg = JSON.parse(d.toString());
      const p = i.pending.get(msg.id);
      if (p) {
        i.pending.delete(msg.id);
        if (msg.error) p.reject(new Error(JSON.stringify(msg.error)));
        else p.resolve(msg.result);
      }
    });
    await new Promise((r, j) => {
      i.ws.once("open", r);
      i.ws.once("error", j);
    });
    return i;
  }
  call(method, params = {}) {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }
  close() {
    this.ws.close();
  }
}

/** Self time per function from a V8 .cpuprofile. */
function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const self = new Map();
  for (const [id, n] of counts) {
    const f = byId.get(id).callFrame;
    const file = f.url ? f.url.split("/").pop() : "";
    const key = `${f.functionName || "(anonymous)"}${file ? ` ${file}:${f.lineNumber + 1}` : ""}`;
    self.set(key, (self.get(key) ?? 0) + n);
  }
  return { total, rows: [...self.entries()].sort((a, b) => b[1] - a[1]) };
}

/** Non-idle samples per source module of the bundle (see the header). */
function byModule(profile) {
  const markers = new Map();
  const moduleOf = (url, line) => {
    const file = url.split("/").pop();
    if (!markers.has(file)) {
      const found = [];
      try {
        readFileSync(join(BUILD_DIR, file), "utf8")
          .split("\n")
          .forEach((l, i) => /^\/\/ (\.\.\/|src\/|node_modules\/)/.test(l) && found.push([i, l.slice(3).replace(/^(\.\.\/)*(main\/)?node_modules\//, "")]));
      } catch {
        // not a bundle of ours
      }
      markers.set(file, found);
    }
    let name = file;
    for (const [at, m] of markers.get(file)) {
      if (at > line) break;
      name = m;
    }
    return name;
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const counts = new Map();
  let total = 0;
  for (const id of profile.samples) {
    const leaf = byId.get(id).callFrame;
    if (leaf.functionName === "(idle)") continue;
    total++;
    let key = leaf.functionName || "(anonymous)";
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at).callFrame;
      if (f.url.endsWith(".mjs")) {
        key = moduleOf(f.url, f.lineNumber);
        break;
      }
    }
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return { total, rows: [...counts.entries()].sort((a, b) => b[1] - a[1]) };
}

/**
 * Inclusive samples of every function whose name contains one of `names`: a sample counts once
 * per function even when it recurses, or when a focused function calls another.
 */
function inclusive(profile, names) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const counts = new Map();
  for (const id of profile.samples) {
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at).callFrame;
      if (!names.some((n) => f.functionName.includes(n))) continue;
      const key = `${f.functionName} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}

async function main() {
  const stateDir = join(STATE_DIR, `profile-${process.pid}-${Date.now()}`);
  await mkdir(stateDir, { recursive: true });
  await buildWorkers();
  await applyMigrations(stateDir);
  const port = await freePort();
  const redis = upstash ? await startRedis() : null;
  const vars = withVars(BENCH_VARS);
  if (redis) Object.assign(vars, { UPSTASH_REDIS_REST_URL: redis.url, UPSTASH_REDIS_REST_TOKEN: redis.token });
  const w = await startWorkerd(stateDir, vars, { inspectorPort: port });
  let session;
  let inspector;
  try {
    const target = makeTarget(targetName, { workerd: w });
    session = await Session.warm(target, "profile", senders, receivers, Math.min(rate, 20), 1000);
    inspector = await Inspector.open(port, targetName === "ours" ? "edge-chat" : "bench-do");
    await inspector.call("Profiler.enable");
    await inspector.call("Profiler.setSamplingInterval", { interval: 100 });
    await inspector.call("Profiler.start");
    const c0 = cpuSeconds([w.workerdPid]);
    const r = await session.step(rate, seconds * 1000);
    const c1 = cpuSeconds([w.workerdPid]);
    const { profile } = await inspector.call("Profiler.stop");
    await mkdir(RESULTS_DIR, { recursive: true });
    const stem = `profile-${targetName}-${senders}x${receivers}${label ? `-${label}` : ""}`;
    const file = join(RESULTS_DIR, `${stem}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));

    const { total, rows } = summarize(profile);
    const idle = rows.find(([k]) => k.startsWith("(idle)"))?.[1] ?? 0;
    const wall = (profile.endTime - profile.startTime) / 1e6;
    const changed = Object.entries(vars).filter(([k, v]) => BENCH_VARS[k] !== v && !k.startsWith("UPSTASH_"));
    const lines = [
      `# Profile: ${targetName}, ${senders} × ${receivers} at ${rate} msg/s for ${seconds} s`,
      "",
      ...(redis || changed.length
        ? [
            `Settings over the bench's: ${[...(redis ? ["Upstash store (local redis-server behind upstash-redis-server)"] : []), ...changed.map(([k, v]) => `${k}=${v}`)].join(", ")}.`,
            "",
          ]
        : []),
      `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC. Delivered ${(r.deliveredRatio * 100).toFixed(1)}%, ` +
        `p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, ${r.cpuPerDeliveryUs} µs of workerd CPU per delivery ` +
        `(${r.msgsPerFrame ?? 1} messages per frame) with the profiler attached (it adds its own cost).`,
      "",
      `workerd used ${(c1 - c0).toFixed(2)} s of CPU in ${wall.toFixed(1)} s; the isolate's JavaScript was on the stack in ` +
        `${Math.round(((total - idle) / total) * 100)}% of the samples. Time inside a runtime call made from JavaScript ` +
        "(a socket `send`, a SQLite `exec`) counts as that call; the socket writes themselves, SQLite commits and " +
        "D1 (another object in the same workerd) run outside the isolate and show only in the process CPU.",
      "",
      "| self % | function |",
      "|---:|---|",
      ...rows
        .filter(([k2]) => !k2.startsWith("(idle)"))
        .slice(0, top)
        .map(([k, n]) => `| ${((n / (total - idle)) * 100).toFixed(1)} | \`${k}\` |`),
      "",
      "Per source module (a runtime call counts for the module whose code made it):",
      "",
      "| % | module |",
      "|---:|---|",
      ...(() => {
        const m = byModule(profile);
        return m.rows.slice(0, top).map(([k, n]) => `| ${((n / m.total) * 100).toFixed(1)} | \`${k}\` |`);
      })(),
      "",
      ...(focus.length
        ? [
            `Inclusive time of the functions named like ${focus.map((f) => `\`${f}\``).join(", ")} (share of the non-idle samples):`,
            "",
            "| total % | function |",
            "|---:|---|",
            ...inclusive(profile, focus)
              .slice(0, top)
              .map(([k, n]) => `| ${((n / (total - idle)) * 100).toFixed(1)} | \`${k}\` |`),
            "",
          ]
        : []),
      `Raw profile: \`bench/results/${stem}.cpuprofile\` (not committed; Chrome DevTools → Performance → Load profile).`,
      "",
    ];
    await writeFile(join(RESULTS_DIR, `${stem}.md`), lines.join("\n"));
    console.log(lines.join("\n"));
  } finally {
    inspector?.close();
    await session?.close();
    await w.stop();
    await redis?.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
