#!/usr/bin/env node
/**
 * CPU per delivered message at one fixed rate, targets interleaved round by round, so that
 * drift on this shared box hits every target alike. The quick check while working on the
 * per-message cost; the full suite (`npm run bench`) is the reference.
 *
 *   npm run bench:cpu -- [--targets do-min,do-sql,ours] [--config 1x10] [--rate 100]
 *                        [--seconds 6] [--rounds 3] [--var NAME=value]
 *
 * Prints each round and the median per target with its ratio to the first target.
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { cliArgs } from "./lib/args.mjs";
import { buildWorkers } from "./lib/build.mjs";
import { STATE_DIR } from "./lib/paths.mjs";
import { applyMigrations, startWorkerd } from "./lib/servers.mjs";
import { Session } from "./lib/session.mjs";
import { makeTarget } from "./lib/targets.mjs";
import { BENCH_VARS } from "./lib/vars.mjs";

process.env.WRANGLER_SEND_METRICS = "false";
const { option: opt, vars: withVars } = cliArgs();
const targets = opt("targets", "do-min,do-sql,ours").split(",");
const [senders, receivers] = opt("config", "1x10").split("x").map(Number);
const rate = Number(opt("rate", 100));
const seconds = Number(opt("seconds", 6));
const rounds = Number(opt("rounds", 3));
const vars = withVars(BENCH_VARS);
if (targets.some((t) => !["do-min", "do-sql", "ours"].includes(t))) throw new Error("targets: do-min, do-sql, ours");

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const stateDir = join(STATE_DIR, `cpu-${process.pid}-${Date.now()}`);
await mkdir(stateDir, { recursive: true });
await buildWorkers({});
await applyMigrations(stateDir);
const workerd = await startWorkerd(stateDir, vars);
const sessions = new Map();
try {
  for (const name of targets) {
    const target = makeTarget(name, { workerd });
    const session = await Session.warm(target, `cpu-${senders}x${receivers}`, senders, receivers, rate, 2000);
    sessions.set(name, { session, cpu: [], p99: [] });
  }
  console.log(`${senders} × ${receivers} at ${rate} msg/s, ${seconds} s steps, ${rounds} rounds (µs of server CPU per delivery, p99 ms)`);
  for (let round = 1; round <= rounds; round++) {
    const line = [];
    for (const [name, s] of sessions) {
      await Session.quiet(5000);
      const r = await s.session.step(rate, seconds * 1000);
      await s.session.settle();
      s.cpu.push(r.cpuPerDeliveryUs);
      s.p99.push(r.latency.p99);
      line.push(`${name} ${r.cpuPerDeliveryUs} µs, p99 ${r.latency.p99}${r.complete ? "" : " INCOMPLETE"}${r.valid ? "" : " (noisy)"}`);
    }
    console.log(`round ${round}: ${line.join(" · ")}`);
  }
  const base = median(sessions.get(targets[0]).cpu);
  for (const [name, s] of sessions) {
    const m = median(s.cpu);
    console.log(`${name.padEnd(7)} median ${m} µs/delivery (×${(m / base).toFixed(2)} ${targets[0]}), p99 ${median(s.p99)} ms`);
  }
} finally {
  for (const { session } of sessions.values()) await session.close().catch(() => {});
  await workerd.stop();
  await rm(stateDir, { recursive: true, force: true });
}
