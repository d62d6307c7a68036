#!/usr/bin/env node
/**
 * Where does a target spend its time? Runs one fan-out load against a Durable Object target
 * in the bench's workerd with the V8 sampling profiler attached through workerd's inspector,
 * then prints the hottest functions (self time) and how the isolate's time compares with the
 * whole workerd process (the rest is socket I/O, the runtime and SQLite outside JavaScript).
 *
 *   npm run bench:profile -- [--target ours|do-min|do-sql] [--senders 10] [--receivers 100]
 *                            [--rate 200] [--seconds 5] [--top 30]
 *
 * Writes bench/results/profile-<target>-<S>x<R>.md (summary) and .cpuprofile (open it in Chrome
 * DevTools → Performance; not committed).
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import WebSocket from "ws";
import { cliArgs } from "./lib/args.mjs";
import { buildWorkers } from "./lib/build.mjs";
import { RESULTS_DIR, STATE_DIR } from "./lib/paths.mjs";
import { cpuSeconds } from "./lib/procstat.mjs";
import { applyMigrations, startWorkerd } from "./lib/servers.mjs";
import { Session } from "./lib/session.mjs";
import { makeTarget } from "./lib/targets.mjs";
import { BENCH_VARS } from "./lib/vars.mjs";
import { freePort } from "../scripts/local-upstash.mjs";

process.env.WRANGLER_SEND_METRICS = "false";
const { option: opt } = cliArgs();
const targetName = opt("target", "ours");
const senders = Number(opt("senders", 10));
const receivers = Number(opt("receivers", 100));
const rate = Number(opt("rate", 200));
const seconds = Number(opt("seconds", 5));
const top = Number(opt("top", 30));


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

async function main() {
  const stateDir = join(STATE_DIR, `profile-${process.pid}-${Date.now()}`);
  await mkdir(stateDir, { recursive: true });
  await buildWorkers();
  await applyMigrations(stateDir);
  const port = await freePort();
  const w = await startWorkerd(stateDir, BENCH_VARS, { inspectorPort: port });
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
    const stem = `profile-${targetName}-${senders}x${receivers}`;
    const file = join(RESULTS_DIR, `${stem}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));

    const { total, rows } = summarize(profile);
    const idle = rows.find(([k]) => k.startsWith("(idle)"))?.[1] ?? 0;
    const wall = (profile.endTime - profile.startTime) / 1e6;
    const lines = [
      `# Profile: ${targetName}, ${senders} × ${receivers} at ${rate} msg/s for ${seconds} s`,
      "",
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
      `Raw profile: \`bench/results/${stem}.cpuprofile\` (not committed; Chrome DevTools → Performance → Load profile).`,
      "",
    ];
    await writeFile(join(RESULTS_DIR, `${stem}.md`), lines.join("\n"));
    console.log(lines.join("\n"));
  } finally {
    inspector?.close();
    await session?.close();
    await w.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
